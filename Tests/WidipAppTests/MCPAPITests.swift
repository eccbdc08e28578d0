import Foundation
import HTTPTypes
import Testing
@testable import WidipApp

@Suite("MCP over the platform's HTTP API and pages, with the demo server behind", .timeLimit(.minutes(2)))
struct MCPAPITests {
    @Test func aTechnicianCallsToolsWithinTheirLevelAndGetsClearRefusalsBeyond() async throws {
        try await DemoPeer.with { peer in
            try await LiveServer.run(adjust: { $0.mcpServerURL = peer.endpoint }) { server in
                let n1 = try await server.signedIn(.n1, name: "mmartin")
                let ticket = try await server.request(
                    .post, "/api/mcp/tools/glpi_get_ticket_details/call", json: ["arguments": ["ticket_id": 1234], "reason": "Ticket du jour"], token: n1.token
                )
                #expect(ticket.status == .ok)
                #expect(ticket.json["is_error"] as? Bool == false)
                #expect(ticket.json["level"] as? String == "L1")
                #expect((ticket.json["structured"] as? [String: Any])?["title"] as? String == "Reset MDP - Jean Dupont")

                let toolError = try await server.request(
                    .post, "/api/mcp/tools/glpi_get_ticket_details/call", json: ["arguments": ["ticket_id": 1], "reason": "Ticket inconnu"], token: n1.token
                )
                #expect(toolError.status == .ok, "the tool's own error is an answer, not an HTTP failure")
                #expect(toolError.json["is_error"] as? Bool == true)
                #expect((toolError.json["text"] as? String)?.contains("Aucun ticket n° 1") == true)

                let tooHigh = try await server.request(
                    .post, "/api/mcp/tools/ad_check_user/call", json: ["arguments": ["username": "jean.dupont"], "reason": "Vérification"], token: n1.token
                )
                #expect(tooHigh.status == .forbidden)
                #expect(tooHigh.errorCode == "tool_level_forbidden")

                let admin = try await server.signedIn(.n4)
                let action = try await server.request(
                    .post, "/api/mcp/tools/ad_reset_password/call", json: ["arguments": ["username": "jean.dupont"], "reason": "Reset"], token: admin.token
                )
                #expect(action.status == .forbidden)
                #expect(action.errorCode == "approval_required")
                let withApproval = try await server.request(
                    .post, "/api/mcp/tools/ad_reset_password/call",
                    json: ["arguments": ["username": "jean.dupont"], "reason": "Reset", "approval_id": "APR-2026-001"], token: admin.token
                )
                #expect(withApproval.errorCode == "approval_not_found", "SAFEGUARD has no such request")

                let noReason = try await server.request(.post, "/api/mcp/tools/glpi_search_client/call", json: ["arguments": ["query": "x"]], token: n1.token)
                #expect(noReason.status == .badRequest)
                #expect(noReason.errorField == "reason")

                let refused = try await server.services.audit.list(AuditFilter(action: "mcp.tool_call_refused", limit: 10))
                #expect(refused.count == 3)
                #expect(refused.contains { $0.username == "mmartin" && $0.targetID == "ad_check_user" })
            }
        }
    }

    @Test func toolsStatusAndThePageShowLevelsStateAndCalls() async throws {
        try await DemoPeer.with { peer in
            try await LiveServer.run(adjust: { $0.mcpServerURL = peer.endpoint }) { server in
                let n1 = try await server.signedIn(.n1)
                let tools = try await server.request(.get, "/api/mcp/tools", token: n1.token)
                #expect(tools.status == .ok)
                let listed = try #require(tools.json["tools"] as? [[String: Any]])
                #expect(listed.count == 10)
                #expect(listed.first { $0["name"] as? String == "ad_disable_account" }?["requires_approval"] as? Bool == true)
                #expect(listed.first { $0["name"] as? String == "ad_disable_account" }?["destructive_hint"] as? Bool == true)

                _ = try await server.request(.post, "/api/mcp/tools/glpi_search_client/call", json: ["arguments": ["query": "Jardins"], "reason": "Recherche"], token: n1.token)
                #expect(try await server.request(.get, "/api/mcp/status", token: n1.token).status == .forbidden)
                let admin = try await server.signedIn(.n3)
                let status = try await server.request(.get, "/api/mcp/status", token: admin.token)
                #expect((status.json["server"] as? [String: Any])?["reachable"] as? Bool == true)
                let calls = try #require(status.json["calls"] as? [[String: Any]])
                #expect(calls.first { $0["tool"] as? String == "glpi_search_client" }?["success_rate"] as? Double == 1)

                let page = try await server.request(.get, "/outils-mcp", token: admin.token)
                #expect(page.status == .ok)
                #expect(page.text.contains("Joignable"))
                #expect(page.text.contains("observium_get_device_status"))
                #expect(page.text.contains("approbation SAFEGUARD"))
                #expect(page.text.contains("1 appel ces dernières 24 heures, 100\u{202F}% réussis"))
                #expect(!page.text.contains("Inconnu du catalogue"))

                // A tool that answers an error is a failed call; a refused one is shown apart, outside the rate.
                let missing = try await server.request(
                    .post, "/api/mcp/tools/glpi_get_ticket_details/call", json: ["arguments": ["ticket_id": 99999], "reason": "Ticket"], token: n1.token
                )
                #expect(missing.json["is_error"] as? Bool == true)
                let refusal = try await server.request(
                    .post, "/api/mcp/tools/ad_check_user/call", json: ["arguments": ["username": "jean.dupont"], "reason": "Compte"], token: n1.token
                )
                #expect(refusal.status == .forbidden)
                let figures = try await server.request(.get, "/outils-mcp", token: admin.token)
                #expect(figures.text.contains("2 appels ces dernières 24 heures, 50\u{202F}% réussis"))
                #expect(figures.text.contains("1 refus (niveau insuffisant ou approbation manquante)"))
                let after = try #require(try await server.request(.get, "/api/mcp/status", token: admin.token).json["calls"] as? [[String: Any]])
                let details = try #require(after.first { $0["tool"] as? String == "glpi_get_ticket_details" })
                #expect(details["success_rate"] as? Double == 0)
                #expect(details["failures"] as? Int == 1)
                #expect(after.first { $0["tool"] as? String == "ad_check_user" }?["refused"] as? Int == 1)

                let health = try await server.request(.get, "/api/workflows/health", token: n1.token)
                let mcp = (health.json["components"] as? [[String: Any]])?.first { $0["name"] as? String == "mcp" }
                #expect(mcp?["status"] as? String == "ok")
            }
        }
    }

    @Test func thePageSaysWhenTheServerIsDown() async throws {
        let peer = try await DemoPeer.start()
        await peer.stop()
        try await LiveServer.run(adjust: { $0.mcpServerURL = peer.endpoint }) { server in
            let admin = try await server.signedIn(.n3)
            let page = try await server.request(.get, "/outils-mcp", token: admin.token)
            #expect(page.status == .ok)
            #expect(page.text.contains("Injoignable"))
            #expect(page.text.contains("Le serveur MCP est injoignable"))
            let tools = try await server.request(.get, "/api/mcp/tools", token: admin.token)
            #expect(tools.status == .serviceUnavailable)
            #expect(tools.errorCode == "mcp_unreachable")
        }
    }

    @Test func prometheusScrapesWithItsTokenOnly() async throws {
        let token = "jeton-prometheus-0123456789abcdef"
        try await DemoPeer.with { peer in
            try await LiveServer.run(adjust: { $0.mcpServerURL = peer.endpoint; $0.metricsToken = token }) { server in
                let n1 = try await server.signedIn(.n1)
                _ = try await server.request(.post, "/api/mcp/tools/glpi_search_client/call", json: ["arguments": ["query": "Parc"], "reason": "Recherche"], token: n1.token)
                #expect(try await server.request(.get, "/metrics").status == .unauthorized)
                #expect(try await server.request(.get, "/metrics", token: "mauvais").status == .unauthorized)
                let scraped = try await server.request(.get, "/metrics", token: token)
                #expect(scraped.status == .ok)
                #expect(scraped.text.contains(#"widip_mcp_tool_calls_total{tool="glpi_search_client",outcome="success"} 1"#))
            }
        }
        try await LiveServer.run { server in
            let unpublished = try await server.request(.get, "/metrics", token: token)
            #expect(unpublished.status == .notFound)
        }
    }
}
