import Foundation
import HummingbirdTesting
import Testing
import WidipTestSupport
@testable import WidipApp

/// The OpenAI-compatible provider against the real offline server `./run` starts: llama.cpp's `llama-server`, here
/// with SmolLM2-135M (tiny and fast; its French is poor, which does not matter for the plumbing). `./test` builds and
/// caches both (`scripts/offline-llm.sh`) and names them in `WIDIP_TEST_LLAMA_SERVER` and `WIDIP_TEST_LLAMA_MODEL`.
@Suite("WIBOT against llama.cpp's llama-server", .serialized, .timeLimit(.minutes(3)))
struct LlamaServerTests {
    static func withLlamaServer<Value: Sendable>(_ body: @escaping @Sendable (LiveServer) async throws -> Value) async throws -> Value {
        let environment = ProcessInfo.processInfo.environment
        guard let binary = environment["WIDIP_TEST_LLAMA_SERVER"], let model = environment["WIDIP_TEST_LLAMA_MODEL"] else {
            throw TestSetupError("WIDIP_TEST_LLAMA_SERVER and WIDIP_TEST_LLAMA_MODEL are not set: run the tests with ./test")
        }
        return try await withLlamaServerProcess(binary: binary, model: model, alias: "smollm2", contextSize: 4096) { port in
            let settings = ChatSettings(
                providers: [.init(name: "openai", baseURL: "http://127.0.0.1:\(port)/v1", maxConcurrent: 2)],
                maxTokens: [.flash: 48, .redaction: 2000], stallTimeout: .seconds(60), openAIModel: "smollm2"
            )
            return try await LiveServer.run(adjust: { $0.chat = settings }, body)
        }
    }

    @Test func aStreamedAnswerWithTheServersUsageThenAStopAndTwoUsersAtOnce() async throws {
        try await Self.withLlamaServer { server in
            let (_, alice) = try await server.signedIn(.n1)
            let (_, bob) = try await server.signedIn(.n1)

            let events = try await ChatTests.send(server, alice, "Bonjour, qui es-tu ?").all(within: .seconds(120))
            let done = try #require(events.first("done")).json
            #expect(done["status"] as? String == "complete", "\(done)")
            #expect(events.filter { $0.name == "delta" }.count > 1, "streamed in pieces")
            #expect(!events.text.isEmpty)
            let usage = try #require(done["usage"] as? [String: Any])
            #expect(usage["estimated"] as? Bool == false, "llama-server reports usage (stream_options.include_usage)")
            #expect((usage["prompt_tokens"] as? Int ?? 0) > 10)
            #expect((usage["completion_tokens"] as? Int ?? 0) > 0)

            // A long answer (2,000 tokens allowed) stopped after its first pieces.
            let long = try await ChatTests.send(server, alice, "Écris un très long rapport sur les imprimantes.", mode: "redaction")
            let head = try await long.read(until: { $0.name == "delta" }, within: .seconds(120))
            let id = try #require(head.first("start")?.json["message_id"] as? String)
            let stopped = try await server.request(.post, "/api/chat/messages/\(id)/stop", token: alice)
            #expect(stopped.json["status"] as? String == "stopped")
            #expect(try await long.all(within: .seconds(60)).first("done")?.json["status"] as? String == "stopped")

            // Two users at once: llama-server's two slots serve both.
            let both = try await withThrowingTaskGroup(of: String?.self) { group in
                for token in [alice, bob] {
                    group.addTask { try await ChatTests.send(server, token, "Donne trois conseils pour un mot de passe.").all(within: .seconds(120)).first("done")?.json["status"] as? String }
                }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            #expect(both == ["complete", "complete"])
        }
    }
}
