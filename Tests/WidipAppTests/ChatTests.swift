import AsyncHTTPClient
import Foundation
import HTTPTypes
import Synchronization
import Testing
import HummingbirdTesting
import WidipTestSupport
@testable import WidipApp

/// WIBOT over a live server and a scripted model server, both on real sockets.
@Suite("WIBOT chat: conversations, streamed answers owned by the server, quotas", .timeLimit(.minutes(2)))
struct ChatTests {
    /// A live server whose every mode answers from `peer`.
    static func withChat<Value: Sendable>(
        _ peer: ScriptedLLMPeer, wire: ScriptedLLMPeer.Wire = .openAI, _ adjust: @escaping @Sendable (inout ChatSettings) -> Void = { _ in },
        _ body: @escaping @Sendable (LiveServer) async throws -> Value
    ) async throws -> Value {
        let settings = peer.settings(wire: wire, adjust)
        return try await LiveServer.run(adjust: { $0.chat = settings }, body)
    }

    static func send(_ server: LiveServer, _ token: String, _ content: String, mode: String = "flash", conversation: String? = nil) async throws -> SSEStream {
        var json: [String: Any] = ["mode": mode, "content": content]
        if let conversation { json["conversation_id"] = conversation }
        return try await SSEStream.open(port: server.port, .POST, "/api/chat/message", token: token, json: json)
    }

    @Test(arguments: [ScriptedLLMPeer.Wire.openAI, .ollama])
    func anAnswerStreamsInPiecesThenEndsWithItsSavedIdAndTheProvidersUsage(wire: ScriptedLLMPeer.Wire) async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withChat(peer, wire: wire) { server in
                let (_, token) = try await server.signedIn(.n1)
                let stream = try await Self.send(server, token, "Bonjour")
                #expect(stream.status == 200)
                let events = try await stream.all()
                #expect(events.map(\.name).first == "start")
                #expect(events.filter { $0.name == "delta" }.count >= 3, "the answer arrives in pieces, as the provider sends them")
                #expect(events.text == "Réponse à « Bonjour ».")
                let done = try #require(events.first("done")).json
                #expect(done["status"] as? String == "complete")
                let usage = try #require(done["usage"] as? [String: Any])
                #expect(usage["prompt_tokens"] as? Int == 12)
                #expect(usage["completion_tokens"] as? Int == 4)
                #expect(usage["estimated"] as? Bool == false)
                #expect((done["tokens"] as? [String: Any])?["used"] as? Int == 16)

                let conversation = try #require(done["conversation_id"] as? String)
                let saved = try await server.request(.get, "/api/chat/conversations/\(conversation)", token: token)
                let messages = try #require(saved.json["messages"] as? [[String: Any]])
                #expect(messages.map { $0["role"] as? String } == ["user", "assistant"])
                #expect(messages.last?["content"] as? String == "Réponse à « Bonjour ».")
                // Ids are written one way everywhere (JSON, SSE, `Location`, pages): lowercase.
                #expect(messages.last?["id"] as? String == done["message_id"] as? String)
                #expect(conversation == conversation.lowercased())
                // The prompt carried the mode's instructions and the question.
                let sent = try #require(peer.requests.last)
                #expect(sent["model"] == .string("scripte-flash"))
            }
        }
    }

    @Test func theModeLimitEndsTheAnswerWithAFrenchMessageAndKeepsWhatWasWritten() async throws {
        try await ScriptedLLMPeer.with { peer in
            // 4 s: long enough for the first words to arrive while the whole suite starts on two cores, far shorter
            // than the scripted answer (300 words, one every 50 ms).
            try await Self.withChat(peer, { $0.timeouts[.code] = .seconds(4) }) { server in
                let (_, token) = try await server.signedIn(.n1)
                let events = try await Self.send(server, token, "[lent] écris longtemps", mode: "code").all()
                let error = try #require(events.first("error")).json
                #expect(error["code"] as? String == "chat_timeout")
                #expect((error["message"] as? String)?.contains("Délai de 4 s du mode Code dépassé") == true)
                let done = try #require(events.first("done")).json
                #expect(done["status"] as? String == "timed_out")
                #expect(events.text.hasPrefix("mot1 "))
                let saved = try await server.request(.get, "/api/chat/conversations/\(done["conversation_id"] as! String)", token: token)
                let answer = try #require((saved.json["messages"] as? [[String: Any]])?.last)
                #expect(answer["status"] as? String == "timed_out")
                #expect(answer["content"] as? String == events.text, "the partial answer is kept as it was shown")
                try await waitUntil("the upstream request is closed") { peer.openStreams == 0 }
            }
        }
    }

    @Test func stopKeepsWhatWasWrittenMarksItStoppedAndClosesTheUpstreamRequest() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withChat(peer) { server in
                let (_, token) = try await server.signedIn(.n1)
                let stream = try await Self.send(server, token, "[lent] raconte")
                let head = try await stream.read(until: { $0.name == "delta" && ($0.json["text"] as? String) == "mot3 " })
                let start = try #require(head.first("start")).json
                let id = try #require(start["message_id"] as? String)
                let stopped = try await server.request(.post, "/api/chat/messages/\(id)/stop", token: token)
                #expect(stopped.status == .ok)
                #expect(stopped.json["status"] as? String == "stopped")
                let rest = try await stream.all()
                #expect(rest.first("done")?.json["status"] as? String == "stopped")
                #expect(rest.first("error") == nil, "a stop is not an error")
                let content = try #require(stopped.json["content"] as? String)
                #expect(content.hasPrefix("mot1 mot2 mot3 "))
                #expect(!content.contains("mot300"))
                try await waitUntil("the upstream request is closed") { peer.openStreams == 0 }
            }
        }
    }

    @Test func anAnswerGoesOnWhenThePageGoesAwayAndAReopenedPageGetsItFromWhereItStands() async throws {
        try await ScriptedLLMPeer.with(slowPieces: 40) { peer in
            try await Self.withChat(peer) { server in
                let (_, token) = try await server.signedIn(.n1)
                let stream = try await Self.send(server, token, "[lent] un rapport")
                let head = try await stream.read(until: { $0.name == "delta" && ($0.json["text"] as? String) == "mot2 " })
                let id = try #require(head.first("start")?.json["message_id"] as? String)
                stream.close()
                // Reopened from where the page stood: the rest, then the end.
                let offset = try #require(head.last?.id)
                let reattached = try await SSEStream.open(port: server.port, .GET, "/api/chat/messages/\(id)/stream?from=\(offset)", token: token)
                let rest = try await reattached.all()
                #expect(head.text + rest.text == (1...40).map { "mot\($0) " }.joined())
                #expect(rest.first("done")?.json["status"] as? String == "complete")
                // And saved whole.
                let saved = try await server.request(.get, "/api/chat/conversations/\(rest.first("done")!.json["conversation_id"] as! String)", token: token)
                #expect((saved.json["messages"] as? [[String: Any]])?.last?["content"] as? String == (1...40).map { "mot\($0) " }.joined())
                // A position past any answer is refused before it reaches the database (it overflowed there once).
                for far in ["9223372036854775807", "2147483647", "-1"] {
                    let refused = try await server.request(.get, "/api/chat/messages/\(id)/stream?from=\(far)", token: token)
                    #expect(refused.status == 400, "from=\(far)")
                    #expect(refused.errorCode == "invalid_field")
                }
            }
        }
    }

    @Test func aPageOnAnotherInstanceAttachesMidAnswerAndAStopThereReachesTheWriter() async throws {
        try await ScriptedLLMPeer.with(slowPieces: 60) { peer in
            try await Self.withChat(peer) { server in
                let (_, token) = try await server.signedIn(.n1)
                let stream = try await Self.send(server, token, "[lent] un rapport")
                let head = try await stream.read(until: { $0.name == "delta" && ($0.json["text"] as? String) == "mot3 " })
                let id = try #require(head.first("start")?.json["message_id"] as? String)
                try await SecondServer.run(sharing: server, environment: ["OPENAI_BASE_URL": peer.openAIBaseURL]) { second in
                    // From the start on the other instance: what was saved, then the rest as it is saved.
                    let attached = try await SSEStream.open(port: second.port, .GET, "/api/chat/messages/\(id)/stream", token: token)
                    let first = try await attached.read(until: { $0.name == "delta" && ($0.json["text"] as? String)?.contains("mot5 ") == true })
                    #expect(first.text.hasPrefix("mot1 mot2 mot3 "))
                    let stopped = try await second.request(.post, "/api/chat/messages/\(id)/stop", token: token)
                    #expect(stopped.status == .ok)
                    let rest = try await attached.all()
                    #expect(rest.first("done")?.json["status"] as? String == "stopped")
                    let original = try await stream.all()
                    #expect(original.first("done")?.json["status"] as? String == "stopped", "the instance writing it stopped")
                    #expect(first.text + rest.text == head.text + original.text, "both pages end with the same text")
                }
            }
        }
    }

    @Test func aBusyProviderQueuesAnswersAndTellsTheirPosition() async throws {
        // The first answer would take two minutes (and may): it holds the provider's one place until it is stopped.
        try await ScriptedLLMPeer.with(slowPieces: 2400) { peer in
            try await Self.withChat(peer, {
                $0.providers[0].maxConcurrent = 1
                $0.timeouts[.flash] = .seconds(150)
            }) { server in
                let (_, token) = try await server.signedIn(.n1)
                let first = try await Self.send(server, token, "[lent] premier")
                let firstHead = try await first.read(until: { $0.name == "delta" })
                let firstID = try #require(firstHead.first("start")?.json["message_id"] as? String)
                let second = try await Self.send(server, token, "second")
                let waiting = try await second.read(until: { $0.name == "queued" })
                let queued = try #require(waiting.first("queued")).json
                #expect(queued["position"] as? Int == 1)
                #expect(queued["message"] as? String == "1 demande avant la vôtre")
                #expect(waiting.first("delta") == nil, "nothing written while in line")
                #expect(peer.requests.count == 1, "the second is not sent to the provider while the first holds its place")
                let stopped = try await server.request(.post, "/api/chat/messages/\(firstID)/stop", token: token)
                #expect(stopped.json["status"] as? String == "stopped")
                let rest = try await second.all()
                #expect(rest.text == "Réponse à « second ».", "served whole once the place is free")
                #expect(rest.first("done")?.json["status"] as? String == "complete")
            }
        }
    }

    @Test func aUserOverQuotaIsRefusedBeforeAnyModelCallAndConcurrentMessagesPassItByAtMostOneAnswer() async throws {
        // Answers that would take two minutes: all three are in flight together, whatever the machine's load.
        try await ScriptedLLMPeer.with(slowPieces: 2400) { peer in
            try await Self.withChat(peer, {
                $0.maxTokens[.flash] = 100
                $0.timeouts[.flash] = .seconds(150)
            }) { server in
                let (user, token) = try await server.signedIn(.n1)
                try await server.services.postgres.query("UPDATE users SET token_quota = 150 WHERE id = \(user.id)", logger: TestDatabase.logger)
                // Three at once: each reserves its cap of 100 under the user's lock, so two start and the third is refused.
                let streams = try await withThrowingTaskGroup(of: SSEStream.self) { group in
                    for index in 0..<3 { group.addTask { try await Self.send(server, token, "[lent] question \(index)") } }
                    return try await group.reduce(into: [SSEStream]()) { $0.append($1) }
                }
                let statuses = streams.map(\.status)
                #expect(statuses.filter { $0 == 200 }.count == 2, "\(statuses)")
                #expect(statuses.filter { $0 == 429 }.count == 1, "\(statuses)")
                for stream in streams where stream.status == 200 {
                    let head = try await stream.read(until: { $0.name == "start" })
                    let id = try #require(head.first("start")?.json["message_id"] as? String)
                    _ = try await server.request(.post, "/api/chat/messages/\(id)/stop", token: token)
                    _ = try await stream.all()
                }
                // Settled, the two answers cost what they wrote (estimated: the provider said nothing before the stop);
                // a quota at that is spent.
                let used = try #require(try await server.request(.get, "/api/chat/tokens", token: token).json["used"] as? Int)
                var settled: (rows: Int, allSettled: Bool, tokens: Int)?
                for try await row in try await server.services.postgres.query(
                    """
                    SELECT count(*)::int, bool_and(settled), COALESCE(SUM(prompt_tokens + completion_tokens), 0)::int
                    FROM chat_token_usage WHERE user_id = \(user.id)
                    """, logger: TestDatabase.logger
                ).decode((Int, Bool, Int).self) { settled = row }
                #expect(settled?.rows == 2 && settled?.allSettled == true, "the two reservations were settled")
                #expect(used > 0 && used == settled?.tokens, "usage is what was written, no longer the reservations")
                try await server.services.postgres.query("UPDATE users SET token_quota = \(used) WHERE id = \(user.id)", logger: TestDatabase.logger)
                let requestsBefore = peer.requests.count
                let refused = try await Self.send(server, token, "encore une")
                #expect(refused.status == 429)
                let error = try #require(try JSONSerialization.jsonObject(with: Data((refused.errorBody ?? "").utf8)) as? [String: Any])["error"] as? [String: Any]
                #expect(error?["code"] as? String == "token_quota_exceeded")
                #expect((error?["message"] as? String)?.contains("se renouvelle le 1") == true, "\(error ?? [:])")
                #expect(peer.requests.count == requestsBefore, "no model call once over quota")
                let tokens = try await server.request(.get, "/api/chat/tokens", token: token)
                #expect(tokens.json["quota"] as? Int == used)
                #expect(tokens.json["used"] as? Int == used)
                #expect((tokens.json["by_mode"] as? [String: Int])?["flash"] == used)
            }
        }
    }

    @Test func theUsersListAndTheAccountShowRealUsageAgainstTheQuota() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withChat(peer) { server in
                let (user, token) = try await server.signedIn(.n1)
                let (_, admin) = try await server.signedIn(.n4)
                _ = try await Self.send(server, token, "Bonjour").all()
                let me = try await server.request(.get, "/api/auth/me", token: token)
                #expect((me.json["tokens"] as? [String: Any])?["used"] as? Int == 16)
                let list = try await server.request(.get, "/api/users", token: admin)
                let row = (list.json["users"] as? [[String: Any]])?.first { $0["id"] as? Int == user.id }
                #expect(row?["tokens_used"] as? Int == 16)
                let page = try await server.request(.get, "/utilisateurs", token: admin)
                #expect(page.text.contains("16 jetons utilisés sur 30"), "the Tokens column of the users list")
            }
        }
    }

    @Test func moreThanTheMessagesAllowedPerMinuteAreRefusedInFrench() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withChat(peer, { $0.messagesPerMinute = 2 }) { server in
                let (_, token) = try await server.signedIn(.n1)
                for _ in 0..<2 { _ = try await Self.send(server, token, "salut").all() }
                let refused = try await Self.send(server, token, "salut")
                #expect(refused.status == 429)
                #expect(refused.errorBody?.contains("chat_rate_limited") == true)
                #expect(refused.errorBody?.contains("2 par minute") == true)
            }
        }
    }

    @Test func aUserSeesOnlyTheirOwnConversations() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withChat(peer) { server in
                let (_, alice) = try await server.signedIn(.n1)
                let (_, bob) = try await server.signedIn(.n4)
                let done = try #require(try await Self.send(server, alice, "mon secret").all().first("done")).json
                let conversation = try #require(done["conversation_id"] as? String)
                let message = try #require(done["message_id"] as? String)
                let routes: [(HTTPRequest.Method, String)] = [
                    (.get, "/api/chat/conversations/\(conversation)"), (.delete, "/api/chat/conversations/\(conversation)"),
                    (.get, "/api/chat/conversations/\(conversation)/export"),
                ]
                for (method, path) in routes {
                    #expect(try await server.request(method, path, token: bob).status == .notFound, "\(path)")
                }
                #expect(try await server.request(.patch, "/api/chat/conversations/\(conversation)", json: ["title": "pris"], token: bob).status == .notFound)
                #expect(try await server.request(.post, "/api/chat/messages/\(message)/stop", token: bob).status == .notFound)
                #expect(try await server.request(.put, "/api/chat/messages/\(message)/feedback", json: ["rating": "down"], token: bob).status == .notFound)
                let bobs = try await server.request(.get, "/api/chat/conversations", token: bob)
                #expect((bobs.json["conversations"] as? [Any])?.isEmpty == true)
                let answer = try await SSEStream.open(port: server.port, .POST, "/api/chat/message", token: bob, json: ["content": "x", "conversation_id": conversation])
                #expect(answer.status == 404)
            }
        }
    }

    @Test func searchFindsConversationsByTheirWordsInFrenchAndExportGivesMarkdown() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withChat(peer) { server in
                let (_, token) = try await server.signedIn(.n1)
                let printers = try await Self.send(server, token, "Les imprimantes de l'EHPAD ne répondent plus").all().first("done")!.json
                _ = try await Self.send(server, token, "Script PowerShell pour les comptes désactivés").all()
                let found = try await server.request(.get, "/api/chat/conversations?q=imprimante", token: token)
                let titles = (found.json["conversations"] as? [[String: Any]])?.compactMap { $0["title"] as? String } ?? []
                #expect(titles == ["Les imprimantes de l'EHPAD ne répondent plus"], "French stemming: « imprimante » finds « imprimantes »")
                let conversation = try #require(printers["conversation_id"] as? String)
                let renamed = try await server.request(.patch, "/api/chat/conversations/\(conversation)", json: ["title": "Imprimantes EHPAD"], token: token)
                #expect(renamed.json["title"] as? String == "Imprimantes EHPAD")
                let export = try await server.request(.get, "/api/chat/conversations/\(conversation)/export", token: token)
                #expect(export.headers[.contentType]?.hasPrefix("text/markdown") == true)
                #expect(export.headers[.contentDisposition]?.contains("wibot-imprimantes-ehpad.md") == true)
                #expect(export.text.hasPrefix("# Imprimantes EHPAD"))
                #expect(export.text.contains("## Vous · Flash"))
                #expect(export.text.contains("Réponse à « Les imprimantes de l'EHPAD ne répondent plus »."))
                #expect(try await server.request(.delete, "/api/chat/conversations/\(conversation)", token: token).status == .noContent)
                let used = try await server.request(.get, "/api/chat/tokens", token: token)
                #expect(used.json["used"] as? Int == 32, "deleting a conversation gives no tokens back")
            }
        }
    }

    @Test func feedbackIsStoredAndTheLastAnswerCanBeRegeneratedOrItsQuestionEdited() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withChat(peer) { server in
                let (_, token) = try await server.signedIn(.n1)
                let done = try #require(try await Self.send(server, token, "première version").all().first("done")).json
                let conversation = try #require(done["conversation_id"] as? String)
                let message = try #require(done["message_id"] as? String)
                let rated = try await server.request(.put, "/api/chat/messages/\(message)/feedback", json: ["rating": "down", "comment": "trop vague"], token: token)
                #expect(rated.json["feedback"] as? String == "down")
                #expect(rated.json["feedback_comment"] as? String == "trop vague")
                #expect(try await server.request(.put, "/api/chat/messages/\(message)/feedback", json: ["rating": "bof"], token: token).status == .badRequest)

                let again = try await SSEStream.open(port: server.port, .POST, "/api/chat/conversations/\(conversation)/regenerate", token: token).all()
                #expect(again.text == "Réponse à « première version ».")
                let edited = try await SSEStream.open(
                    port: server.port, .POST, "/api/chat/conversations/\(conversation)/edit", token: token, json: ["content": "seconde version"]
                ).all()
                #expect(edited.text == "Réponse à « seconde version ».")
                let saved = try await server.request(.get, "/api/chat/conversations/\(conversation)", token: token)
                let messages = try #require(saved.json["messages"] as? [[String: Any]])
                #expect(messages.compactMap { $0["content"] as? String } == ["seconde version", "Réponse à « seconde version »."])
            }
        }
    }

    @Test func providerFailuresEndTheAnswerWithAClearErrorNeverAHang() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withChat(peer, { $0.stallTimeout = .seconds(2) }) { server in
                let (_, token) = try await server.signedIn(.n1)
                let cases: [(String, String)] = [
                    ("[refus]", "HTTP 429"), ("[coupé]", "coupé"), ("[illisible]", "illisible"), ("[muet]", "ne répond plus depuis 2 s"),
                ]
                for (tag, expected) in cases {
                    let events = try await Self.send(server, token, "\(tag) question").all(within: .seconds(30))
                    let done = try #require(events.first("done"), "\(tag)").json
                    #expect(done["status"] as? String == "failed", "\(tag)")
                    let message = events.first("error")?.json["message"] as? String ?? ""
                    #expect(message.contains(expected), "\(tag): \(message)")
                }
                let noUsage = try await Self.send(server, token, "[sans-usage] question").all()
                #expect((noUsage.first("done")?.json["usage"] as? [String: Any])?["estimated"] as? Bool == true)
            }
        }
        // Nothing listening: refused at once.
        let port = TestPorts.reserve()
        let settings = ChatSettings(providers: [.init(name: "openai", baseURL: "http://127.0.0.1:\(port)/v1")])
        try await LiveServer.run(adjust: { $0.chat = settings }) { server in
            let (_, token) = try await server.signedIn(.n1)
            let events = try await Self.send(server, token, "allô ?").all(within: .seconds(30))
            #expect((events.first("error")?.json["message"] as? String)?.contains("injoignable") == true)
        }
    }

    @Test func withoutAnyProviderTheAnswerSaysHowToConfigureOne() async throws {
        try await LiveServer.run { server in
            let (_, token) = try await server.signedIn(.n1)
            let refused = try await Self.send(server, token, "bonjour")
            #expect(refused.status == 503)
            #expect(refused.errorBody?.contains("OLLAMA_BASE_URL") == true)
            #expect(try await server.request(.get, "/api/chat/conversations", token: token).json["total"] as? Int == 0, "nothing stored")
        }
    }

    /// The assistant's tool loop (next issue) needs both providers to hand over tool calls streamed in pieces.
    @Test(arguments: [ScriptedLLMPeer.Wire.openAI, .ollama])
    func bothProvidersPassToolsAndHandBackStreamedToolCallsWithTheirUsage(wire: ScriptedLLMPeer.Wire) async throws {
        try await ScriptedLLMPeer.with { peer in
            // It runs while the whole suite starts (servers, migrations): the peer may take more than the usual 2 s.
            let providers = LLMProviders(settings: peer.settings(wire: wire) { $0.stallTimeout = .seconds(20) }, httpClient: .shared)
            let (entry, model) = try #require(providers.route(.assistant))
            let tool: JSONValue = .object([
                "type": "function",
                "function": .object(["name": "glpi_search_client", "description": "Cherche un client", "parameters": .object(["type": "object"])]),
            ])
            let chunks = Mutex<[LLMChunk]>([])
            try await entry.provider.stream(
                LLMRequest(model: model, messages: [LLMMessage(role: .user, content: "[outil] le client St-Jean")], maxTokens: 256, tools: [tool])
            ) { chunk in chunks.withLock { $0.append(chunk) } }
            let received = chunks.withLock { $0 }
            var names: [Int: String] = [:]
            var arguments: [Int: String] = [:]
            for case .toolCall(let index, _, let name, let delta) in received {
                if let name { names[index] = name }
                arguments[index, default: ""] += delta
            }
            #expect(names == [0: "glpi_search_client"])
            let parsed = try JSONDecoder().decode(JSONValue.self, from: Data(try #require(arguments[0]).utf8))
            #expect(parsed == .object(["query": "St-Jean"]))
            #expect(received.contains(.usage(prompt: 30, completion: 9)))
            #expect(received.contains(.finished(reason: "tool_calls")))
            #expect(peer.requests.last?["tools"] == .array([tool]), "the tools reach the model")
        }
    }

    @Test func aConnectionTheModelServerClosesBeforeAnsweringIsRetriedOnceOnANewOne() async throws {
        let peer = try ClosingOnceLLMPeer()
        let settings = ChatSettings(providers: [.init(name: "openai", baseURL: "http://127.0.0.1:\(peer.port)/v1")], openAIModel: "modele")
        let providers = LLMProviders(settings: settings, httpClient: .shared)
        let (entry, model) = try #require(providers.route(.flash))
        let text = Mutex("")
        try await entry.provider.stream(LLMRequest(model: model, messages: [LLMMessage(role: .user, content: "Bonjour ?")], maxTokens: 16, tools: [])) {
            if case .text(let piece) = $0 { text.withLock { $0 += piece } }
        }
        #expect(text.withLock { $0 } == "Bonjour")
        #expect(peer.connections == 2)
    }
}
