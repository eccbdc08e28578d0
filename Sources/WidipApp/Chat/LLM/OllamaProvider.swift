import Foundation
import NIOCore
import NIOHTTP1

/// Ollama's native chat API (`POST /api/chat`), streamed as one JSON object per line.
struct OllamaProvider: LLMProvider {
    let name = "ollama"
    /// `http://host:11434`, without `/api`.
    let baseURL: String
    let http: LLMHTTPStream

    func stream(_ request: LLMRequest, receive: @escaping @Sendable (LLMChunk) async throws -> Void) async throws {
        var body: [String: JSONValue] = [
            "model": .string(request.model),
            "messages": request.ollamaMessages,
            "stream": .bool(true),
            "options": .object(["num_predict": .number(Double(request.maxTokens))]),
        ]
        if !request.tools.isEmpty { body["tools"] = .array(request.tools) }
        let state = StreamState(label: http.label)
        try await http.post(baseURL + "/api/chat", headers: HTTPHeaders(), body: ByteBuffer(bytes: JSONValue.object(body).jsonData)) {
            chunk in
            for line in state.lines.feed(chunk) {
                for piece in try state.decode(line) { try await receive(piece) }
            }
        }
        for line in state.lines.finish() {
            for piece in try state.decode(line) { try await receive(piece) }
        }
        guard state.done else {
            throw LLMFailure(kind: .interrupted, message: "\(http.label.atSentenceStart) a coupé la réponse avant sa fin.")
        }
    }

    func probe() async -> Bool {
        await http.answers(baseURL + "/api/tags", headers: HTTPHeaders())
    }

    /// Unchecked: only the HTTP reader's task touches it, one chunk after the other, and the caller reads it once
    /// that task has ended.
    private final class StreamState: @unchecked Sendable {
        var lines = LineSplitter()
        var done = false
        private var toolCalls = 0
        private let decoder = JSONDecoder()
        private let label: String

        init(label: String) { self.label = label }

        func decode(_ line: ArraySlice<UInt8>) throws -> [LLMChunk] {
            let chunk: Chunk
            do {
                chunk = try decoder.decode(Chunk.self, from: Data(line))
            } catch {
                throw LLMFailure(kind: .malformed, message: "\(label.atSentenceStart) a envoyé un morceau de réponse illisible.")
            }
            if let error = chunk.error {
                throw LLMFailure(kind: .refused(status: 200), message: "\(label.atSentenceStart) a interrompu la réponse : \(String(error.prefix(300))).")
            }
            var pieces: [LLMChunk] = []
            if let text = chunk.message?.content, !text.isEmpty { pieces.append(.text(text)) }
            // Ollama sends each call whole, its arguments as an object: one chunk per call, numbered in order.
            for call in chunk.message?.toolCalls ?? [] {
                let arguments = (call.function.arguments ?? .object([:])).jsonText
                pieces.append(.toolCall(index: toolCalls, id: "call_\(toolCalls)", name: call.function.name, argumentsDelta: arguments))
                toolCalls += 1
            }
            if chunk.done == true {
                done = true
                if chunk.promptEvalCount != nil || chunk.evalCount != nil {
                    pieces.append(.usage(prompt: chunk.promptEvalCount ?? 0, completion: chunk.evalCount ?? 0))
                }
                pieces.append(.finished(reason: toolCalls > 0 ? "tool_calls" : (chunk.doneReason ?? "stop")))
            }
            return pieces
        }
    }

    private struct Chunk: Decodable {
        struct Message: Decodable {
            struct ToolCall: Decodable {
                struct Function: Decodable {
                    let name: String
                    let arguments: JSONValue?
                }

                let function: Function
            }

            let content: String?
            let toolCalls: [ToolCall]?

            enum CodingKeys: String, CodingKey {
                case content
                case toolCalls = "tool_calls"
            }
        }

        let message: Message?
        let done: Bool?
        let doneReason: String?
        let promptEvalCount: Int?
        let evalCount: Int?
        let error: String?

        enum CodingKeys: String, CodingKey {
            case message, done, error
            case doneReason = "done_reason"
            case promptEvalCount = "prompt_eval_count"
            case evalCount = "eval_count"
        }
    }
}
