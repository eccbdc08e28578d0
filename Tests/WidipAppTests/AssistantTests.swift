import Foundation
import Testing
import WidipTestSupport
@testable import WidipApp

/// The Assistant WIDIP mode over a live server, the scripted model server (deterministic tool-call sequences) and the
/// demo MCP server, all on real sockets.
@Suite("Assistant WIDIP: knowledge base, MCP tool loop, L3 actions through SAFEGUARD", .timeLimit(.minutes(2)))
struct AssistantTests {
    static let demoKnowledge = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("demo/connaissances").path

    /// A live server whose every mode answers from `peer`, with the demo MCP server's tools and the demo knowledge.
    static func withAssistant(
        _ peer: ScriptedLLMPeer, wire: ScriptedLLMPeer.Wire = .openAI, _ adjust: @escaping @Sendable (inout AppConfig) -> Void = { _ in },
        _ body: @escaping @Sendable (LiveServer) async throws -> Void
    ) async throws {
        try await DemoPeer.with { mcp in
            let settings = peer.settings(wire: wire)
            try await LiveServer.run(adjust: { config in
                config.chat = settings
                SafeguardTests.configure(&config, peer: mcp)
                adjust(&config)
            }) { server in
                _ = try await KnowledgeImport(services: server.services).run(demoKnowledge)
                try await body(server)
            }
        }
    }

    static func ask(_ server: LiveServer, _ token: String, _ question: String, conversation: String? = nil) async throws -> [SSEEvent] {
        try await ChatTests.send(server, token, question, mode: "assistant", conversation: conversation).all()
    }

    static func steps(_ events: [SSEEvent]) -> [Int: [String: Any]] {
        var steps: [Int: [String: Any]] = [:]
        for event in events where event.name == "step" {
            if let index = event.json["index"] as? Int, let step = event.json["step"] as? [String: Any] { steps[index] = step }
        }
        return steps
    }

    /// The content of the last user turn of a request the peer received.
    static func lastUserTurn(_ request: [String: JSONValue]?) -> String? {
        guard case .array(let messages)? = request?["messages"] else { return nil }
        for case .object(let message) in messages.reversed() where message["role"] == .string("user") {
            if case .string(let text)? = message["content"] { return text }
        }
        return nil
    }

    static func savedAnswer(_ server: LiveServer, _ token: String, _ events: [SSEEvent]) async throws -> [String: Any] {
        let done = try #require(events.first("done")).json
        let saved = try await server.request(.get, "/api/chat/conversations/\(done["conversation_id"] as! String)", token: token)
        return try #require((saved.json["messages"] as? [[String: Any]])?.last)
    }

    @Test(arguments: [ScriptedLLMPeer.Wire.openAI, .ollama])
    func theSwitchQuestionLooksTheClientUpReadsTheSwitchAndCitesTheKnowledgeBase(wire: ScriptedLLMPeer.Wire) async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withAssistant(peer, wire: wire) { server in
                let (_, token) = try await server.signedIn(.n1)
                let events = try await Self.ask(
                    server, token,
                    #"[outils: glpi_search_client{"query":"Clinique St-Jean"} ; observium_get_device_status{"hostname":"SWITCH-CLIN-STJEAN"}] Quel est l'état du switch de la Clinique St-Jean ?"#
                )
                let done = try #require(events.first("done")).json
                #expect(done["status"] as? String == "complete")
                let steps = Self.steps(events)
                #expect(steps.count == 2)
                #expect(steps[0]?["tool"] as? String == "glpi_search_client" && steps[0]?["status"] as? String == "success")
                #expect(steps[1]?["tool"] as? String == "observium_get_device_status" && steps[1]?["status"] as? String == "success")
                #expect(steps[1]?["level"] as? String == "L0")
                // The model answered from what the tools said.
                #expect(events.text.hasPrefix("Synthèse : "))
                #expect(events.text.contains("Clinique Saint-Jean") && events.text.contains("SWITCH-CLIN-STJEAN"))
                // The knowledge base's passages: in the prompt, and listed as the answer's sources.
                let sources = try #require(events.first("sources")).json
                let items = try #require(sources["items"] as? [[String: Any]])
                #expect(Set(items.compactMap { $0["ticket_id"] as? String }).isSuperset(of: ["CAS-2024-0312", "CAS-2024-0918"]))
                #expect(sources["used_vectors"] as? Bool == false, "no embedding service here: full text alone, and said")
                let first = try #require(peer.requests.first)
                guard case .array(let messages)? = first["messages"], case .object(let question)? = messages.last,
                    case .string(let asked)? = question["content"]
                else { Issue.record("no question in the prompt"); return }
                #expect(asked.contains("Extraits de la base de connaissances") && asked.contains("CAS-2024-0312"))
                guard case .array(let tools)? = first["tools"] else { Issue.record("no tools offered"); return }
                let offered = Set(tools.compactMap { tool -> String? in
                    if case .object(let fields) = tool, case .object(let function)? = fields["function"] { return function["name"]?.stringValue }
                    return nil
                })
                #expect(offered.contains("observium_get_device_status") && offered.contains("ad_reset_password"))
                #expect(!offered.contains("ad_check_user"), "L2 is beyond an N1's level: not offered")
                #expect(peer.requests.count == 3, "two rounds with a call each, then the answer")

                let saved = try await Self.savedAnswer(server, token, events)
                #expect((saved["tool_calls"] as? [[String: Any]])?.count == 2)
                #expect(((saved["sources"] as? [String: Any])?["items"] as? [Any])?.isEmpty == false)
                // The page shows the steps and the sources once saved.
                let page = try await server.request(.get, "/wibot?c=\(done["conversation_id"] as! String)", token: token)
                #expect(page.text.contains("observium_get_device_status") && page.text.contains("Signaler comme obsolète"))
            }
        }
    }

    @Test func aCallWrittenAsFencedJSONInTheTextIsRunAndNeverShown() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withAssistant(peer) { server in
                let (_, token) = try await server.signedIn(.n1)
                let events = try await Self.ask(server, token, #"[bloc] [outils: glpi_search_client{"query":"Jardins"}] Qui est le contact des Jardins ?"#)
                #expect(Self.steps(events)[0]?["status"] as? String == "success")
                #expect(events.text.hasPrefix("Je consulte l'outil."))
                #expect(!events.text.contains("```") && !events.text.contains("\"arguments\""), "the call is not shown: \(events.text)")
                #expect(events.text.contains("EHPAD Les Jardins"))
            }
        }
    }

    @Test func anL2ToolRunsForAnN2AndIsAuditedButIsNotAvailableToAnN1() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withAssistant(peer) { server in
                let question = #"[outils: ad_check_user{"username":"jean.dupont"}] Le compte de jean.dupont est-il verrouillé ?"#
                let (senior, seniorToken) = try await server.signedIn(.n2)
                let events = try await Self.ask(server, seniorToken, question)
                #expect(Self.steps(events)[0]?["status"] as? String == "success")
                let audited = try await server.services.audit.list(AuditFilter(action: "mcp.tool_call", limit: 10))
                #expect(audited.contains { $0.userID == senior.id && $0.targetID == "ad_check_user" })

                let (_, token) = try await server.signedIn(.n1)
                let refused = try await Self.ask(server, token, question)
                #expect(Self.steps(refused)[0]?["status"] as? String == "refused")
                #expect(refused.text.contains("n'est pas disponible"), "the refusal goes back to the model")
            }
        }
    }

    @Test func aToolErrorGoesBackToTheModelAsTheToolsAnswer() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withAssistant(peer) { server in
                let (_, token) = try await server.signedIn(.n1)
                let events = try await Self.ask(server, token, #"[outils: observium_get_device_status{"hostname":"SWITCH-INCONNU"}] État du switch inconnu ?"#)
                #expect(Self.steps(events)[0]?["status"] as? String == "tool_error")
                #expect(events.text.contains("Erreur de l'outil") && events.text.contains("SWITCH-INCONNU"))
                #expect(try #require(events.first("done")).json["status"] as? String == "complete")
            }
        }
    }

    @Test func afterTheRoundLimitTheModelIsToldToAnswerAndItsFurtherCallsAreNotRun() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withAssistant(peer, { $0.assistant.maxToolRounds = 2 }) { server in
                let (_, token) = try await server.signedIn(.n1)
                let events = try await Self.ask(server, token, "[boucle] Cherche encore et encore.")
                #expect(Self.steps(events).count == 2)
                #expect(peer.requests.count == 3)
                // The tools stay offered (the server's prompt cache), with the instruction to answer.
                #expect(peer.requests.last?["tools"] != nil)
                #expect(Self.lastUserTurn(peer.requests.last) == AssistantWIDIP.answerNow)
                #expect(events.text.hasPrefix("Synthèse"))
            }
        }
    }

    @Test func aModelThatKeepsCallingAfterTheLimitIsAskedOnceMoreWithoutTools() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withAssistant(peer, { $0.assistant.maxToolRounds = 2 }) { server in
                let (_, token) = try await server.signedIn(.n1)
                let events = try await Self.ask(server, token, "[boucle] [têtu] Cherche encore et encore.")
                #expect(Self.steps(events).count == 2, "the call written after the limit is not run")
                #expect(peer.requests.count == 4)
                #expect(peer.requests.last?["tools"] == nil)
                #expect(events.text.hasPrefix("Synthèse"))
                #expect(try #require(events.first("done")).json["status"] as? String == "complete")
            }
        }
    }

    @Test func theModesTimeLimitCutsTheLoopAndKeepsItsSteps() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withAssistant(peer, { $0.chat.timeouts[.assistant] = .seconds(8) }) { server in
                let (_, token) = try await server.signedIn(.n1)
                let events = try await Self.ask(server, token, #"[lent] [outils: glpi_search_client{"query":"Jardins"}] Et ensuite ?"#)
                #expect(try #require(events.first("done")).json["status"] as? String == "timed_out")
                let saved = try await Self.savedAnswer(server, token, events)
                #expect(saved["status"] as? String == "timed_out")
                #expect((saved["tool_calls"] as? [[String: Any]])?.first?["status"] as? String == "success")
            }
        }
    }

    @Test func anL3ActionBecomesARequestAColleagueApprovesAndItsOutcomeComesBackIntoTheConversation() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withAssistant(peer) { server in
                let (_, token) = try await server.signedIn(.n2)
                let events = try await Self.ask(server, token, #"[outils: ad_reset_password{"username":"jean.dupont"}] Réinitialise le mot de passe de jean.dupont."#)
                let step = try #require(Self.steps(events)[0])
                #expect(step["status"] as? String == "awaiting_approval")
                let approvalID = try #require(step["approval_id"] as? String)
                #expect(events.text.contains("attend l'approbation"), "the model was told, and says it")
                let conversation = try #require(events.first("done")?.json["conversation_id"] as? String)

                let request = try await server.request(.get, "/api/safeguard/\(approvalID)", token: token).json
                #expect(request["conversation_id"] as? String == conversation)
                #expect((request["requester"] as? [String: Any])?["type"] as? String == "user")
                #expect(try await server.request(.post, "/api/safeguard/\(approvalID)/approve", token: token).errorCode == "own_request")

                let updates = try await SSEStream.open(port: server.port, .GET, "/api/chat/conversations/\(conversation)/updates", token: token)
                let (_, colleague) = try await server.signedIn(.n2)
                #expect(try await server.request(.post, "/api/safeguard/\(approvalID)/approve", token: colleague).status == .ok)
                let arrived = try await updates.read(until: { $0.name == "message" })
                updates.close()
                let messageID = try #require(arrived.first("message")?.json["message_id"] as? String)

                let saved = try await server.request(.get, "/api/chat/conversations/\(conversation)", token: token)
                let outcome = try #require((saved.json["messages"] as? [[String: Any]])?.last)
                #expect(outcome["id"] as? String == messageID)
                #expect(outcome["role"] as? String == "action")
                #expect((outcome["content"] as? String)?.contains("approuvée") == true && (outcome["content"] as? String)?.contains("exécutée") == true)
                #expect((outcome["tool_calls"] as? [[String: Any]])?.first?["status"] as? String == "executed")

                // The next question's prompt carries the outcome.
                _ = try await Self.ask(server, token, "C'est fait ?", conversation: conversation)
                guard case .array(let messages)? = peer.requests.last?["messages"] else { Issue.record("no prompt"); return }
                #expect(messages.contains { turn in
                    if case .object(let fields) = turn, case .string(let text)? = fields["content"] { return text.hasPrefix("Suite donnée par SAFEGUARD") }
                    return false
                })
            }
        }
    }

    @Test func aRejectedActionComesBackWithTheColleaguesReason() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withAssistant(peer) { server in
                let (_, token) = try await server.signedIn(.n2)
                let events = try await Self.ask(server, token, #"[outils: ad_disable_account{"username":"marie.leroy"}] Désactive marie.leroy."#)
                let approvalID = try #require(Self.steps(events)[0]?["approval_id"] as? String)
                let conversation = try #require(events.first("done")?.json["conversation_id"] as? String)
                let (_, colleague) = try await server.signedIn(.n3)
                let rejected = try await server.request(.post, "/api/safeguard/\(approvalID)/reject", json: ["reason": "Elle revient lundi."], token: colleague)
                #expect(rejected.status == .ok)
                let saved = try await server.request(.get, "/api/chat/conversations/\(conversation)", token: token)
                let outcome = try #require((saved.json["messages"] as? [[String: Any]])?.last)
                #expect(outcome["role"] as? String == "action")
                #expect((outcome["content"] as? String)?.contains("rejetée") == true && (outcome["content"] as? String)?.contains("Elle revient lundi.") == true)
            }
        }
    }

    @Test func anActionNobodyDecidesExpiresAndTheConversationIsTold() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withAssistant(peer, { $0.safeguard.maximumExpiry = .seconds(3) }) { server in
                let (_, token) = try await server.signedIn(.n2)
                let events = try await Self.ask(server, token, #"[outils: glpi_close_ticket{"ticket_id":1234,"solution":"Réglé."}] Clôture le ticket 1234."#)
                #expect(Self.steps(events)[0]?["status"] as? String == "awaiting_approval")
                let conversation = try #require(events.first("done")?.json["conversation_id"] as? String)
                try await waitUntil("the request expires and the conversation is told") {
                    let saved = try await server.request(.get, "/api/chat/conversations/\(conversation)", token: token)
                    let last = (saved.json["messages"] as? [[String: Any]])?.last
                    return last?["role"] as? String == "action" && (last?["content"] as? String)?.contains("expirée") == true
                }
            }
        }
    }

    @Test func aConversationKeptToOneClientSeesNothingOfAnother() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withAssistant(peer) { server in
                let (_, token) = try await server.signedIn(.n1)
                let first = try await Self.ask(server, token, "Bonjour [outils: ]")
                let conversation = try #require(first.first("done")?.json["conversation_id"] as? String)
                let scoped = try await server.request(.patch, "/api/chat/conversations/\(conversation)", json: ["client_scope": "Clinique Saint-Jean"], token: token)
                #expect(scoped.json["client_scope"] as? String == "Clinique Saint-Jean")

                let events = try await Self.ask(
                    server, token,
                    #"[outils: observium_get_device_status{"hostname":"SWITCH-EHPAD-JARDINS"} ; glpi_search_client{"query":"Clinique"}] Et les bornes des Jardins ?"#,
                    conversation: conversation
                )
                let steps = Self.steps(events)
                #expect((steps[0]?["result"] as? String)?.contains("Résultat masqué") == true, "\(steps[0] ?? [:])")
                #expect(!(events.text.contains("SWITCH-EHPAD-JARDINS") && events.text.contains("203")))
                let items = (events.first("sources")?.json["items"] as? [[String: Any]]) ?? []
                #expect(items.allSatisfy { ($0["client"] as? String).map { $0 == "Clinique Saint-Jean" } ?? true })
                guard case .array(let messages)? = peer.requests.first(where: { request in
                    if case .array(let turns)? = request["messages"] { return turns.count > 2 }
                    return false
                })?["messages"], case .object(let system)? = messages.first
                else { Issue.record("no prompt"); return }
                #expect(system["content"]?.stringValue?.contains("ne concerne que le client « Clinique Saint-Jean »") == true)
            }
        }
    }

    @Test func anAdminsAssistantIsToldOfOpenAlertsAndUnresolvedTicketsKeptToTheConversationsClient() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withAssistant(peer) { server in
                try await SupervisionDashboardTests.execute(server, [
                    """
                    INSERT INTO incident_logs (alert_id, device_name, client_name, status, responsibility, confidence, ticket_id, detected_at) VALUES
                        ('701', 'AP-MUSICART-RDC', 'EHPAD Music Art', 'diagnosing', 'FAI', 75, '4266', NOW() - INTERVAL '2 hours'),
                        ('702', 'SWITCH-CLIN-STJEAN', 'Clinique Saint-Jean', 'open', 'Indéterminé', NULL, NULL, NOW() - INTERVAL '5 minutes')
                    """,
                    "INSERT INTO widip_agent_logs (ticket_id, category, status, client_name) VALUES ('4257', 'AUTRE', 'escalade', 'EHPAD Music Art')",
                    // Resolved: not part of what is going on.
                    "INSERT INTO widip_agent_logs (ticket_id, category, status, client_name) VALUES ('4258', 'RESET_MDP', 'resolu', 'EHPAD Music Art')",
                ])
                // SUPERVISION is read from N3 (PRD 3.4.1): a technician's assistant is not told.
                let (_, technician) = try await server.signedIn(.n2)
                _ = try await Self.ask(server, technician, "Pourquoi le wifi ne marche pas ? [outils: ]")
                #expect(Self.lastUserTurn(peer.requests.last)?.contains("Situation en cours") == false)

                let (_, token) = try await server.signedIn(.n3)
                let first = try await Self.ask(server, token, "Pourquoi le wifi ne marche pas ? [outils: ]")
                let prompt = try #require(Self.lastUserTurn(peer.requests.last))
                #expect(prompt.contains("Situation en cours (SUPERVISION)"))
                #expect(prompt.contains("AP-MUSICART-RDC (EHPAD Music Art)") && prompt.contains("en attente du diagnostic du client") && prompt.contains("ticket #4266"))
                #expect(prompt.contains("SWITCH-CLIN-STJEAN (Clinique Saint-Jean)"))
                #expect(prompt.contains("#4257 AUTRE escaladé (EHPAD Music Art)") && !prompt.contains("#4258"))

                let conversation = try #require(first.first("done")?.json["conversation_id"] as? String)
                _ = try await server.request(.patch, "/api/chat/conversations/\(conversation)", json: ["client_scope": "Clinique Saint-Jean"], token: token)
                _ = try await Self.ask(server, token, "Et le switch ? [outils: ]", conversation: conversation)
                let scoped = try #require(Self.lastUserTurn(peer.requests.last))
                #expect(scoped.contains("SWITCH-CLIN-STJEAN") && !scoped.contains("AP-MUSICART-RDC") && !scoped.contains("#4257"))
            }
        }
    }

    @Test func aSourceReportedObsoleteIsRecordedOncePerTechnicianAndAudited() async throws {
        try await ScriptedLLMPeer.with { peer in
            try await Self.withAssistant(peer) { server in
                let (user, token) = try await server.signedIn(.n0)
                let events = try await Self.ask(server, token, "Quel est l'état du switch de la Clinique St-Jean ?")
                let source = try #require((events.first("sources")?.json["items"] as? [[String: Any]])?.first?["id"] as? Int)
                let message = events.first("done")?.json["message_id"] as? String
                let reported = try await server.request(.post, "/api/knowledge/sources/\(source)/obsolete", json: ["message_id": message as Any], token: token)
                #expect(reported.status == .created)
                let again = try await server.request(.post, "/api/knowledge/sources/\(source)/obsolete", json: [String: Any](), token: token)
                #expect(again.status == .ok && again.json["new_report"] as? Bool == false)
                #expect(try await server.request(.post, "/api/knowledge/sources/999999/obsolete", json: [String: Any](), token: token).status == .notFound)
                let audited = try await server.services.audit.list(AuditFilter(action: "knowledge.source_reported_obsolete", limit: 10))
                #expect(audited.count == 1 && audited.first?.userID == user.id)
            }
        }
    }
}
