import Foundation
import NIOCore
import NIOHTTP1

/// Any server speaking OpenAI's chat completions API with streaming: Mistral's API, vLLM, llama.cpp's `llama-server`.
struct OpenAICompatibleProvider: LLMProvider {
    let name: String
    /// Ends with `/v1` (or whatever precedes `/chat/completions`).
    let baseURL: String
    let apiKey: String?
    /// Ask for a final usage chunk (`stream_options.include_usage`). Mistral's API sends usage anyway and refuses
    /// fields it does not know.
    let requestsUsage: Bool
    let http: LLMHTTPStream

    func stream(_ request: LLMRequest, receive: @escaping @Sendable (LLMChunk) async throws -> Void) async throws {
        var body: [String: JSONValue] = [
            "model": .string(request.model),
            "messages": request.openAIMessages,
            "stream": .bool(true),
            "max_tokens": .number(Double(request.maxTokens)),
        ]
        if requestsUsage { body["stream_options"] = .object(["include_usage": .bool(true)]) }
        if !request.tools.isEmpty { body["tools"] = .array(request.tools) }
        let state = StreamState(label: http.label)
        try await http.post(
            baseURL + "/chat/completions", headers: headers, body: ByteBuffer(bytes: JSONValue.object(body).jsonData)
        ) { chunk in
            for data in state.parser.feed(chunk) {
                for piece in try state.decode(data) { try await receive(piece) }
            }
        }
        for data in state.parser.finish() {
            for piece in try state.decode(data) { try await receive(piece) }
        }
        guard state.finished else {
            throw LLMFailure(kind: .interrupted, message: "\(http.label.atSentenceStart) a coupé la réponse avant sa fin.")
        }
    }

    func probe() async -> Bool {
        await http.answers(baseURL + "/models", headers: headers)
    }

    private var headers: HTTPHeaders {
        var headers = HTTPHeaders([("Accept", "text/event-stream")])
        if let apiKey { headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        return headers
    }

    /// The SSE parser and what the stream has said so far. Unchecked: only the HTTP reader's task touches it, one
    /// chunk after the other, and the caller reads it once that task has ended.
    private final class StreamState: @unchecked Sendable {
        var parser = ServerSentEventParser()
        private var done = false
        private var finishReason: String?
        /// `[DONE]`, or at least a finish reason (a server that closes without `[DONE]` has still said it ended).
        var finished: Bool { done || finishReason != nil }
        private let decoder = JSONDecoder()
        private let label: String

        init(label: String) { self.label = label }

        func decode(_ data: Data) throws -> [LLMChunk] {
            if data.elementsEqual("[DONE]".utf8) {
                done = true
                return []
            }
            let chunk: Chunk
            do {
                chunk = try decoder.decode(Chunk.self, from: data)
            } catch {
                throw LLMFailure(kind: .malformed, message: "\(label.atSentenceStart) a envoyé un morceau de réponse illisible.")
            }
            if let error = chunk.error {
                throw LLMFailure(kind: .refused(status: 200), message: "\(label.atSentenceStart) a interrompu la réponse : \(String((error.message ?? "erreur").prefix(300))).")
            }
            var pieces: [LLMChunk] = []
            for choice in chunk.choices ?? [] {
                if let text = choice.delta?.content, !text.isEmpty { pieces.append(.text(text)) }
                for call in choice.delta?.toolCalls ?? [] {
                    pieces.append(.toolCall(index: call.index ?? 0, id: call.id, name: call.function?.name, argumentsDelta: call.function?.arguments ?? ""))
                }
                if let reason = choice.finishReason {
                    finishReason = reason
                    pieces.append(.finished(reason: reason))
                }
            }
            if let usage = chunk.usage, usage.promptTokens != nil || usage.completionTokens != nil {
                pieces.append(.usage(prompt: usage.promptTokens ?? 0, completion: usage.completionTokens ?? 0))
            }
            return pieces
        }
    }

    private struct Chunk: Decodable {
        struct Choice: Decodable {
            struct Delta: Decodable {
                struct ToolCall: Decodable {
                    struct Function: Decodable {
                        let name: String?
                        let arguments: String?
                    }

                    let index: Int?
                    let id: String?
                    let function: Function?
                }

                let content: String?
                let toolCalls: [ToolCall]?

                enum CodingKeys: String, CodingKey {
                    case content
                    case toolCalls = "tool_calls"
                }
            }

            let delta: Delta?
            let finishReason: String?

            enum CodingKeys: String, CodingKey {
                case delta
                case finishReason = "finish_reason"
            }
        }

        struct Usage: Decodable {
            let promptTokens: Int?
            let completionTokens: Int?

            enum CodingKeys: String, CodingKey {
                case promptTokens = "prompt_tokens"
                case completionTokens = "completion_tokens"
            }
        }

        struct ErrorBody: Decodable {
            let message: String?
        }

        let choices: [Choice]?
        let usage: Usage?
        let error: ErrorBody?
    }
}
