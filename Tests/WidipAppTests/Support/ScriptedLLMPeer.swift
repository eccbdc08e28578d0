import Foundation
import Hummingbird
import NIOCore
import Synchronization
@testable import WidipApp

/// A model server over a real socket that speaks both wire formats WIBOT uses, OpenAI's chat completions
/// (`/v1/chat/completions`, SSE) and Ollama's (`/api/chat`, NDJSON), and answers by script. The script is chosen by
/// a tag in the last user message:
/// - no tag: « Réponse à « question » » in a few pieces, with usage;
/// - `[lent]`: `slowPieces` pieces (300 by default), one every 50 ms, for stop, timeouts and reloads;
/// - `[muet]`: one piece, then silence with the connection open;
/// - `[coupé]`: two pieces, then the connection closes without the end marker;
/// - `[illisible]`: a piece that is not JSON;
/// - `[refus]`: HTTP 429 with an error body;
/// - `[sans-usage]`: no token counts;
/// - `[outil]`: a tool call streamed as argument pieces;
/// - `[outils: nom{json} ; nom{json}]`: the assistant's tool loop: while the request offers tools, the next call of
///   the list (one per round, counted by the `tool` turns already in the request), then « Synthèse : » followed by
///   what each tool answered; with `[bloc]`, the calls are written in the text as fenced JSON (as Qwen writes them);
/// - `[boucle]`: a new `glpi_search_client` call at every round that offers tools, then the synthesis.
/// Once told to answer (`AssistantWIDIP.answerNow`), the peer writes the synthesis even though tools are offered, as
/// a model that follows its instructions does; with `[têtu]`, it calls again until no tool is offered.
final class ScriptedLLMPeer: Sendable {
    let port: Int
    private let server: InProcessServer
    private let recorded = Recorded()

    private final class Recorded: Sendable {
        let state = Mutex(State())
    }

    struct State {
        var requests: [[String: JSONValue]] = []
        var open = 0
    }

    var openAIBaseURL: String { "http://127.0.0.1:\(port)/v1" }
    var ollamaBaseURL: String { "http://127.0.0.1:\(port)" }
    /// Streams being written now: a cancelled answer must close its upstream request.
    var openStreams: Int { recorded.state.withLock { $0.open } }
    var requests: [[String: JSONValue]] { recorded.state.withLock { $0.requests } }

    private init(port: Int, server: InProcessServer) {
        self.port = port
        self.server = server
    }

    static func start(pieceDelay: Duration = .milliseconds(5), slowPieces: Int = 300) async throws -> ScriptedLLMPeer {
        let box = Box()
        let router = Router()
        router.post("/v1/chat/completions") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            return box.peer.withLock { $0! }.answer(body, wire: .openAI, pieceDelay: pieceDelay, slowPieces: slowPieces)
        }
        router.post("/api/chat") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            return box.peer.withLock { $0! }.answer(body, wire: .ollama, pieceDelay: pieceDelay, slowPieces: slowPieces)
        }
        router.get("/v1/models") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "{\"data\":[]}"))) }
        router.get("/api/tags") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "{\"models\":[]}"))) }
        let (port, server) = try await serveInProcess(router, name: "scripted LLM peer")
        let peer = ScriptedLLMPeer(port: port, server: server)
        box.peer.withLock { $0 = peer }
        return peer
    }

    func stop() async {
        await server.stop()
    }

    static func with<Value>(
        pieceDelay: Duration = .milliseconds(5), slowPieces: Int = 300, _ body: (ScriptedLLMPeer) async throws -> Value
    ) async throws -> Value {
        try await stopping(try await start(pieceDelay: pieceDelay, slowPieces: slowPieces), { $0.stop }, body)
    }

    /// Settings with every mode on this peer, through `wire`'s provider.
    func settings(wire: Wire = .openAI, _ adjust: (inout ChatSettings) -> Void = { _ in }) -> ChatSettings {
        let provider =
            wire == .openAI
            ? ChatSettings.Provider(name: "openai", baseURL: openAIBaseURL, maxConcurrent: 8)
            : ChatSettings.Provider(name: "ollama", baseURL: ollamaBaseURL, maxConcurrent: 8)
        var settings = ChatSettings(
            providers: [provider], routes: Dictionary(uniqueKeysWithValues: ChatMode.allCases.map { ($0, .init(provider: provider.name, model: "scripte-\($0.rawValue)")) }),
            // Generous: the first piece may take seconds while the whole suite starts on two cores. The test of a
            // silent provider sets its own.
            stallTimeout: .seconds(15)
        )
        adjust(&settings)
        return settings
    }

    enum Wire: Sendable { case openAI, ollama }

    private final class Box: Sendable {
        let peer = Mutex<ScriptedLLMPeer?>(nil)
    }

    // MARK: Scripts

    private func answer(_ body: ByteBuffer, wire: Wire, pieceDelay: Duration, slowPieces: Int) -> Response {
        let request = (try? JSONDecoder().decode([String: JSONValue].self, from: Data(buffer: body))) ?? [:]
        recorded.state.withLock { $0.requests.append(request) }
        var question = ""
        var toldToAnswer = false
        if case .array(let messages)? = request["messages"] {
            // The question: the last user turn, not the assistant's closing instruction.
            for case .object(let message) in messages where message["role"] == .string("user") {
                guard case .string(let text)? = message["content"] else { continue }
                if text == AssistantWIDIP.answerNow { toldToAnswer = true } else { question = text }
            }
        }
        let asked = question
        var toolResults: [String] = []
        if case .array(let messages)? = request["messages"] {
            for case .object(let message) in messages where message["role"] == .string("tool") {
                if case .string(let text)? = message["content"] { toolResults.append(text) }
            }
        }
        let offersTools = if case .array(let tools)? = request["tools"] { !tools.isEmpty } else { false }
        let mayCall = offersTools && (!toldToAnswer || asked.contains("[têtu]"))
        if let script = Self.toolScript(asked) {
            return toolLoop(script, asked: asked, results: toolResults, mayCall: mayCall, wire: wire, pieceDelay: pieceDelay)
        }
        if asked.contains("[refus]") {
            return Response(
                status: .tooManyRequests, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"Rate limit exceeded","type":"rate_limit"}}"#))
            )
        }
        let contentType = wire == .openAI ? "text/event-stream" : "application/x-ndjson"
        return Response(
            status: .ok, headers: [.contentType: contentType],
            body: ResponseBody { [self] writer in
                recorded.state.withLock { $0.open += 1 }
                defer { recorded.state.withLock { $0.open -= 1 } }
                let format = Format(wire: wire)
                if asked.contains("[outil]") {
                    for piece in format.toolCall() {
                        try await writer.write(ByteBuffer(string: piece))
                        try await Task.sleep(for: pieceDelay)
                    }
                    try await writer.finish(nil)
                    return
                }
                let pieces: [String]
                var delay = pieceDelay
                if asked.contains("[lent]") {
                    pieces = (1...slowPieces).map { "mot\($0) " }
                    delay = .milliseconds(50)
                } else {
                    pieces = ["Réponse ", "à « ", asked, " »."]
                }
                for (index, piece) in pieces.enumerated() {
                    try await writer.write(ByteBuffer(string: format.text(piece)))
                    try await Task.sleep(for: delay)
                    if asked.contains("[muet]") {
                        try await Task.sleep(for: .seconds(60))
                    }
                    if asked.contains("[coupé]") && index == 1 {
                        throw CancellationError()
                    }
                    if asked.contains("[illisible]") && index == 1 {
                        try await writer.write(ByteBuffer(string: wire == .openAI ? "data: {pas du json\n\n" : "{pas du json\n"))
                    }
                }
                let completion = pieces.count
                try await writer.write(ByteBuffer(string: format.end(prompt: 12, completion: asked.contains("[sans-usage]") ? nil : completion)))
                try await writer.finish(nil)
            }
        )
    }

    /// The calls of `[outils: …]`, or an endless list for `[boucle]`.
    static func toolScript(_ asked: String) -> [(name: String, arguments: String)]? {
        if asked.contains("[boucle]") { return (1...100).map { ("glpi_search_client", #"{"query":"essai \#($0)"}"#) } }
        guard let start = asked.range(of: "[outils:"), let end = asked.range(of: "]", range: start.upperBound..<asked.endIndex) else { return nil }
        return asked[start.upperBound..<end.lowerBound].components(separatedBy: " ; ").compactMap { item in
            let item = item.trimmingCharacters(in: .whitespaces)
            guard let brace = item.firstIndex(of: "{") else { return nil }
            return (String(item[..<brace]), String(item[brace...]))
        }
    }

    private func toolLoop(
        _ script: [(name: String, arguments: String)], asked: String, results: [String], mayCall: Bool, wire: Wire, pieceDelay: Duration
    ) -> Response {
        let format = Format(wire: wire)
        let next = mayCall && results.count < script.count ? script[results.count] : nil
        let slowEnd = asked.contains("[lent]")
        return Response(
            status: .ok, headers: [.contentType: wire == .openAI ? "text/event-stream" : "application/x-ndjson"],
            body: ResponseBody { [self] writer in
                recorded.state.withLock { $0.open += 1 }
                defer { recorded.state.withLock { $0.open -= 1 } }
                var pieces: [String]
                if let next, asked.contains("[bloc]") {
                    let block = "Je consulte l'outil.\n```json\n{\"name\": \"\(next.name)\", \"arguments\": \(next.arguments)}\n```\n"
                    // Cut anywhere, as a model's tokens cut it: the fence arrives in pieces.
                    pieces = stride(from: 0, to: block.count, by: 7).map { offset in
                        String(block.dropFirst(offset).prefix(7))
                    }.map(format.text)
                    pieces.append(format.end(prompt: 20, completion: 10))
                } else if let next {
                    pieces = format.toolCall(id: "call_\(results.count + 1)", name: next.name, arguments: next.arguments)
                } else {
                    let text = "Synthèse : " + results.map { String($0.prefix(300)) }.joined(separator: " | ")
                    pieces = [format.text("Synthèse"), format.text(String(text.dropFirst(8)))]
                    if slowEnd { pieces += (1...300).map { format.text(" mot\($0)") } }
                    pieces.append(format.end(prompt: 40, completion: 20))
                }
                for piece in pieces {
                    try await writer.write(ByteBuffer(string: piece))
                    try await Task.sleep(for: slowEnd && next == nil ? .milliseconds(50) : pieceDelay)
                }
                try await writer.finish(nil)
            }
        )
    }

    struct Format {
        let wire: Wire

        func text(_ piece: String) -> String {
            let escaped = ChatEventStream.jsonString(piece)
            return switch wire {
            case .openAI: "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\(escaped)}}]}\n\n"
            case .ollama: "{\"message\":{\"role\":\"assistant\",\"content\":\(escaped)},\"done\":false}\n"
            }
        }

        func end(prompt: Int, completion: Int?) -> String {
            switch wire {
            case .openAI:
                let usage = completion.map { ",\"usage\":{\"prompt_tokens\":\(prompt),\"completion_tokens\":\($0)}" } ?? ""
                return "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" + (completion == nil ? "" : "data: {\"choices\":[]\(usage)}\n\n")
                    + "data: [DONE]\n\n"
            case .ollama:
                let usage = completion.map { ",\"prompt_eval_count\":\(prompt),\"eval_count\":\($0)" } ?? ""
                return "{\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\"\(usage)}\n"
            }
        }

        /// One call: OpenAI's in argument pieces, Ollama's whole.
        func toolCall(id: String, name: String, arguments: String) -> [String] {
            switch wire {
            case .openAI:
                let half = arguments.count / 2
                return [
                    #"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"\#(id)","type":"function","function":{"name":"\#(name)","arguments":""}}]}}]}"# + "\n\n",
                    #"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":\#(ChatEventStream.jsonString(String(arguments.prefix(half))))}}]}}]}"# + "\n\n",
                    #"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":\#(ChatEventStream.jsonString(String(arguments.dropFirst(half))))}}]}}]}"# + "\n\n",
                    #"data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":30,"completion_tokens":9}}"# + "\n\n",
                    "data: [DONE]\n\n",
                ]
            case .ollama:
                return [
                    #"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"\#(name)","arguments":\#(arguments)}}]},"done":false}"# + "\n",
                    #"{"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":30,"eval_count":9}"# + "\n",
                ]
            }
        }

        func toolCall() -> [String] {
            switch wire {
            case .openAI:
                return [
                    #"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"glpi_search_client","arguments":""}}]}}]}"# + "\n\n",
                    #"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"query\":"}}]}}]}"# + "\n\n",
                    #"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"St-Jean\"}"}}]}}]}"# + "\n\n",
                    #"data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":30,"completion_tokens":9}}"# + "\n\n",
                    "data: [DONE]\n\n",
                ]
            case .ollama:
                return [
                    #"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"glpi_search_client","arguments":{"query":"St-Jean"}}}]},"done":false}"# + "\n",
                    #"{"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":30,"eval_count":9}"# + "\n",
                ]
            }
        }
    }
}
