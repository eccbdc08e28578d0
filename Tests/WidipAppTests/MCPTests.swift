import DemoMCP
import Foundation
import NIOCore
import Testing
@testable import WidipApp

@Suite("MCP tools through the platform's client, against the demo server over a real socket", .timeLimit(.minutes(2)))
struct MCPTests {
    static let expectedLevels: [String: ToolLevel] = [
        "observium_get_device_status": .l0, "observium_get_device_metrics": .l0, "glpi_search_client": .l0, "memory_search_similar_cases": .l0,
        "glpi_get_ticket_details": .l1, "ad_check_user": .l2,
        "ad_reset_password": .l3, "glpi_close_ticket": .l3, "ad_disable_account": .l3, "ad_copy_groups_from": .l3,
    ]

    @Test func listsTheTenToolsWithTheirCatalogueLevelsAndAnnotations() async throws {
        try await DemoPeer.with { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let tools = try await harness.mcp.tools()
                #expect(Dictionary(uniqueKeysWithValues: tools.map { ($0.name, $0.level) }) == Self.expectedLevels)
                #expect(tools.allSatisfy { $0.offered && $0.catalogued })
                for tool in tools {
                    #expect(tool.readOnlyHint == (tool.level < .l3), "\(tool.name): read-only exactly for the reading tools")
                    #expect(tool.inputSchema != nil)
                }
                #expect(tools.first { $0.name == "ad_disable_account" }?.destructiveHint == true)
            }
        }
    }

    @Test func aToolTheCatalogueDoesNotKnowIsFlaggedAndTreatedAsL4() async throws {
        try await DemoPeer.with { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let partial = ToolCatalogue(entries: harness.mcp.catalogue.entries.values.filter { $0.name != "glpi_search_client" })
                let service = MCPToolService(
                    connection: harness.services.mcpConnection, catalogue: partial, approvals: harness.approvals, calls: harness.services.toolCalls,
                    audit: harness.services.audit, metrics: harness.mcp.metrics, logger: TestDatabase.logger
                )
                let search = try #require(try await service.tools().first { $0.name == "glpi_search_client" })
                #expect(search.catalogued == false)
                #expect(search.level == .l4)
                let admin = try await harness.user(.n4)
                let refused = await appError {
                    try await service.call(ToolCallRequest(tool: "glpi_search_client", arguments: ["query": "Jardins"], caller: admin, reason: "test"))
                }
                #expect(refused?.code == "approval_required", "the server's read-only annotation does not lower L4")
            }
        }
    }

    @Test func everyToolAnswersItsHappyPath() async throws {
        try await DemoPeer.with { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let tech = try await harness.user(.n2)
                let status = try await harness.call("observium_get_device_status", ["hostname": "switch-clin-stjean"], as: tech)
                #expect(status.isError == false)
                #expect(status.structured?["status"] == "UP")
                #expect(status.structured?["uptime_days"] == 45)
                #expect(status.structured?["ports"] == ["total": 24, "up": 24])

                let metrics = try await harness.call("observium_get_device_metrics", ["hostname": "SWITCH-CLIN-STJEAN", "period": "1h"], as: tech)
                #expect(metrics.structured?["samples"]?.arrayCount == 12)

                let search = try await harness.call("glpi_search_client", ["query": "Clinique St-Jean"], as: tech)
                let first = search.structured?["clients"]?[0]
                #expect(first?["name"] == "Clinique Saint-Jean")
                #expect(first?["entity_id"] == 42)
                let accents = try await harness.call("glpi_search_client", ["query": "ehpad music art"], as: tech)
                #expect(accents.structured?["clients"]?[0]?["name"] == "EHPAD Music Art")

                let ticket = try await harness.call("glpi_get_ticket_details", ["ticket_id": "1234"], as: tech)
                #expect(ticket.structured?["title"] == "Reset MDP - Jean Dupont")
                #expect(ticket.structured?["client"] == "EHPAD Les Jardins")

                let cases = try await harness.call("memory_search_similar_cases", ["query": "Clinique St-Jean switch"], as: tech)
                let references = cases.structured?["cases"]?.arrayValue?.prefix(2).compactMap { $0["reference"]?.stringValue }
                #expect(Set(references ?? []) == ["CAS-2024-0312", "CAS-2024-0918"], "the two 2024 incidents on that switch come first")

                let account = try await harness.call("ad_check_user", ["username": "jean.dupont"], as: tech)
                #expect(account.structured?["locked"] == true)
                #expect(account.text.contains("jean.dupont"), "the text content carries the same answer for a language model")

                let admin = try await harness.user(.n4)
                let actions: [(String, [String: JSONValue])] = [
                    ("ad_reset_password", ["username": "jean.dupont"]),
                    ("glpi_close_ticket", ["ticket_id": 1234, "solution": "Mot de passe réinitialisé, M. Dupont prévenu."]),
                    ("ad_disable_account", ["username": "marie.leroy", "reason": "Départ le 27/11"]),
                    ("ad_copy_groups_from", ["source_username": "sophie.bernard", "target_username": "paul.petit"]),
                ]
                for (index, (tool, arguments)) in actions.enumerated() {
                    try await harness.approvals.add(id: "APR-2026-\(index)", tool: tool, arguments: .object(arguments))
                    let done = try await harness.call(tool, arguments, as: admin, approval: "APR-2026-\(index)")
                    #expect(done.isError == false, "\(tool): \(done.text)")
                }
                let unlocked = try await harness.call("ad_check_user", ["username": "jean.dupont"], as: tech)
                #expect(unlocked.structured?["locked"] == false)
                #expect(unlocked.structured?["must_change_password"] == true)
                let closed = try await harness.call("glpi_get_ticket_details", ["ticket_id": 1234], as: tech)
                #expect(closed.structured?["status"] == "Clos")
                let disabled = try await harness.call("ad_check_user", ["username": "marie.leroy"], as: tech)
                #expect(disabled.structured?["enabled"] == false)
                let copied = try await harness.call("ad_check_user", ["username": "paul.petit"], as: tech)
                #expect(copied.structured?["groups"]?.arrayValue?.contains("GG_DPI") == true)
            }
        }
    }

    @Test func badArgumentsGetReadableFrenchToolErrors() async throws {
        try await DemoPeer.with { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let tech = try await harness.user(.n2)
                let cases: [(String, [String: JSONValue], String)] = [
                    ("observium_get_device_status", [:], "Argument manquant : « hostname »"),
                    ("observium_get_device_status", ["hostname": 42], "doit être un texte"),
                    ("observium_get_device_status", ["hostname": "SWITCH-CLIN-STJAEN"], "Vouliez-vous dire : SWITCH-CLIN-STJEAN"),
                    ("observium_get_device_metrics", ["hostname": "FW-BIOSUD", "period": "1an"], "1h, 24h ou 7d"),
                    ("glpi_get_ticket_details", ["ticket_id": "douze"], "nombre entier"),
                    ("glpi_get_ticket_details", ["ticket_id": 99999], "Aucun ticket n° 99999"),
                    ("glpi_search_client", ["query": "Jardins", "limit": 500], "entre 1 et 20"),
                    ("glpi_search_client", ["query": "Jardins", "verbose": true], "Argument inattendu « verbose »"),
                    ("ad_check_user", ["username": "jean.dupond"], "Vouliez-vous dire : jean.dupont"),
                ]
                for (tool, arguments, message) in cases {
                    let answer = try await harness.call(tool, arguments, as: tech)
                    #expect(answer.isError, "\(tool) \(arguments)")
                    #expect(answer.text.contains(message), "\(tool): « \(answer.text) » should say « \(message) »")
                }
                let stats = try await harness.mcp.stats(since: Date().addingTimeInterval(-60))
                #expect(stats["observium_get_device_status"]?.toolErrors == 3)
                #expect(stats["observium_get_device_status"]?.failures == 3)
                #expect(stats["observium_get_device_status"]?.successRate == 0, "a tool that answers an error did not do what was asked")
            }
        }
    }

    @Test func unknownToolIsRefusedWithoutApprovalAndRejectedByTheServerWithOne() async throws {
        try await DemoPeer.with { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let admin = try await harness.user(.n4)
                let refused = await appError { try await harness.call("format_c_drive", [:], as: admin) }
                #expect(refused?.code == "approval_required")
                #expect(refused?.message.contains("L4") == true)
                try await harness.approvals.add(id: "APR-X", tool: "format_c_drive", arguments: [:])
                let rejected = await appError { try await harness.call("format_c_drive", [:], as: admin, approval: "APR-X") }
                #expect(rejected?.code == "mcp_call_rejected")
                #expect(rejected?.message.contains("Outil inconnu") == true)
            }
        }
    }

    @Test func l3IsRefusedWithoutApprovalAndRunsExactlyOnceWithOne() async throws {
        try await DemoPeer.with { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let admin = try await harness.user(.n4)
                let arguments: [String: JSONValue] = ["username": "jean.dupont"]
                let bare = await appError { try await harness.call("ad_reset_password", arguments, as: admin) }
                #expect(bare?.code == "approval_required")
                #expect(bare?.kind == .forbidden)

                try await harness.approvals.add(id: "APR-1", tool: "ad_reset_password", arguments: .object(arguments))
                let other = await appError { try await harness.call("ad_reset_password", ["username": "claire.fontaine"], as: admin, approval: "APR-1") }
                #expect(other?.code == "approval_mismatch")
                let otherTool = await appError { try await harness.call("ad_disable_account", arguments, as: admin, approval: "APR-1") }
                #expect(otherTool?.code == "approval_mismatch")

                let done = try await harness.call("ad_reset_password", arguments, as: admin, approval: "APR-1")
                #expect(done.isError == false)
                #expect(done.structured?["temporary_password"]?.stringValue?.isEmpty == false)
                #expect(try await harness.approvals.usedAt("APR-1") != nil)

                let again = await appError { try await harness.call("ad_reset_password", arguments, as: admin, approval: "APR-1") }
                #expect(again?.code == "approval_used")

                try await harness.approvals.add(id: "APR-OLD", tool: "ad_reset_password", arguments: .object(arguments), expiresIn: -1)
                #expect(await appError { try await harness.call("ad_reset_password", arguments, as: admin, approval: "APR-OLD") }?.code == "approval_expired")
                try await harness.approvals.add(id: "APR-NO", tool: "ad_reset_password", arguments: .object(arguments), status: "rejected")
                #expect(await appError { try await harness.call("ad_reset_password", arguments, as: admin, approval: "APR-NO") }?.code == "approval_not_approved")
                #expect(await appError { try await harness.call("ad_reset_password", arguments, as: admin, approval: "APR-NONE") }?.code == "approval_not_found")

                let executed = try await harness.auditRows(action: "mcp.tool_call")
                #expect(executed.count == 1)
                #expect(executed.first?.details?["approval_id"] == "APR-1")
                #expect(executed.first?.details?["approved_by"] == "khora")
                let refusals = try await harness.auditRows(action: "mcp.tool_call_refused")
                #expect(refusals.compactMap { $0.details?["error"]?.stringValue }.sorted() == [
                    "approval_expired", "approval_mismatch", "approval_mismatch", "approval_not_approved", "approval_not_found", "approval_required",
                    "approval_used",
                ])
            }
        }
    }

    @Test func aServerThatAnswersInPlainJSONWithoutSessionsWorksTheSame() async throws {
        try await DemoPeer.with({ $0.jsonReplies = true }) { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let tools = try await harness.mcp.tools()
                #expect(Dictionary(uniqueKeysWithValues: tools.map { ($0.name, $0.level) }) == Self.expectedLevels)
                let tech = try await harness.user(.n2)
                let status = try await harness.call("observium_get_device_status", ["hostname": "SWITCH-CLIN-STJEAN"], as: tech)
                #expect(status.structured?["status"] == "UP")
                let unknown = try await harness.call("observium_get_device_status", ["hostname": "inexistant"], as: tech)
                #expect(unknown.isError)

                let admin = try await harness.user(.n4)
                let arguments: [String: JSONValue] = ["ticket_id": 1235, "solution": "Bourrage retiré, imprimante relancée."]
                try await harness.approvals.add(id: "APR-JSON", tool: "glpi_close_ticket", arguments: .object(arguments))
                #expect(try await harness.call("glpi_close_ticket", arguments, as: admin, approval: "APR-JSON").isError == false)
                let details = try await harness.call("glpi_get_ticket_details", ["ticket_id": 1235], as: tech)
                #expect(details.structured?["status"] == "Clos")
                #expect((await harness.mcp.serverState()).reachable)
                #expect(await peer.server.sessionCount() == 0, "a stateless server keeps no session")
            }
        }
    }

    @Test func concurrentUsesOfOneApprovalRunTheActionOnce() async throws {
        try await DemoPeer.with { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let admin = try await harness.user(.n4)
                let arguments: [String: JSONValue] = ["username": "marie.leroy"]
                try await harness.approvals.add(id: "APR-RACE", tool: "ad_disable_account", arguments: .object(arguments))
                let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                    for _ in 0..<8 {
                        group.addTask {
                            do {
                                return try await harness.call("ad_disable_account", arguments, as: admin, approval: "APR-RACE").isError ? "tool_error" : "ran"
                            } catch let error as AppError {
                                return error.code
                            }
                        }
                    }
                    return try await group.reduce(into: [String]()) { $0.append($1) }
                }
                #expect(outcomes.filter { $0 == "ran" }.count == 1)
                #expect(outcomes.filter { $0 == "approval_used" }.count == 7)
            }
        }
    }

    @Test func theCallerLevelBoundsWhatRunsWithoutApproval() async throws {
        try await DemoPeer.with { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let n0 = try await harness.user(.n0)
                let n1 = try await harness.user(.n1)
                let n2 = try await harness.user(.n2)
                #expect(try await harness.call("glpi_search_client", ["query": "Jardins"], as: n0).isError == false)
                let ticketForN0 = await appError { try await harness.call("glpi_get_ticket_details", ["ticket_id": 1235], as: n0) }
                #expect(ticketForN0?.code == "tool_level_forbidden")
                #expect(try await harness.call("glpi_get_ticket_details", ["ticket_id": 1235], as: n1).isError == false)
                let adForN1 = await appError { try await harness.call("ad_check_user", ["username": "lea.garnier"], as: n1) }
                #expect(adForN1?.code == "tool_level_forbidden")
                #expect(adForN1?.message.contains("N1") == true)
                #expect(try await harness.call("ad_check_user", ["username": "lea.garnier"], as: n2).isError == false)
                #expect(try await harness.call("ad_check_user", ["username": "lea.garnier"], as: .workflow("SUPPORT")).isError == false)

                try await harness.approvals.add(id: "APR-N1", tool: "ad_check_user", arguments: ["username": "lea.garnier"])
                #expect(try await harness.call("ad_check_user", ["username": "lea.garnier"], as: n1, approval: "APR-N1").isError == false, "an approval lifts the level rule")
            }
        }
    }

    @Test func l2AndAboveAreAuditedWithSecretsMaskedAndL0L1AreNot() async throws {
        try await DemoPeer.with { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let n2 = try await harness.user(.n2, name: "jdupont")
                _ = try await harness.call("glpi_search_client", ["query": "Jardins"], as: n2)
                _ = try await harness.call("glpi_get_ticket_details", ["ticket_id": 1234], as: n2)
                #expect(try await harness.auditRows(action: "mcp.tool_call").isEmpty)

                _ = try await harness.call("ad_check_user", ["username": "jean.dupont"], as: n2)
                let rows = try await harness.auditRows(action: "mcp.tool_call")
                let row = try #require(rows.first)
                #expect(row.username == "jdupont")
                #expect(row.targetType == "mcp_tool")
                #expect(row.targetID == "ad_check_user")
                #expect(row.details?["level"] == "L2")
                #expect(row.details?["outcome"] == "success")
                #expect(row.details?["arguments"] == ["username": "jean.dupont"])
                #expect(row.details?["reason"] == "test : ad_check_user")
                #expect(row.details?["duration_ms"] != nil)

                let secret = await appError { try await harness.call("ad_reset_password", ["username": "jean.dupont", "new_password": "Azur-2026!"], as: n2) }
                #expect(secret?.code == "approval_required")
                let refusal = try #require(try await harness.auditRows(action: "mcp.tool_call_refused").first)
                #expect(refusal.details?["arguments"] == ["username": "jean.dupont", "new_password": "••••••"])
                // The refusal is shown apart: it is not a call of the server, and not in its success rate.
                let stats = try await harness.mcp.stats(since: Date().addingTimeInterval(-60))
                #expect(stats["ad_reset_password"]?.refused == 1)
                #expect(stats["ad_reset_password"]?.calls == 0)
                #expect(stats["ad_reset_password"]?.successRate == nil)
                #expect(stats["ad_check_user"]?.successRate == 1)
            }
        }
    }

    @Test func theClientRecoversWhenTheServerIsRestartedMidSession() async throws {
        let first = try await DemoPeer.start()
        let port = first.port
        do {
            try await MCPHarness.run(endpoint: first.endpoint) { harness in
                let tech = try await harness.user(.n2)
                #expect(try await harness.call("observium_get_device_status", ["hostname": "FW-BIOSUD"], as: tech).isError == false)
                await first.stop()

                let down = await appError { try await harness.call("observium_get_device_status", ["hostname": "FW-BIOSUD"], as: tech) }
                // Refused outright, cut on a pooled connection the stopped server had just closed, or (on a loaded
                // machine, the old server still closing) out of time: each says so.
                #expect(["mcp_unreachable", "mcp_connection_lost", "mcp_timeout"].contains(down?.code ?? ""), "\(String(describing: down))")

                let second = try await DemoPeer.start(port: port)
                do {
                    #expect(try await harness.call("observium_get_device_status", ["hostname": "FW-BIOSUD"], as: tech).isError == false)
                    #expect(await second.server.sessionCount() == 1)
                    #expect(try await harness.mcp.tools().count == 10)
                    await second.stop()
                } catch {
                    await second.stop()
                    throw error
                }
                // Restarted between two calls: the client learns it from the server's 404 for its old session.
                let third = try await DemoPeer.start(port: port)
                do {
                    #expect(try await harness.call("observium_get_device_status", ["hostname": "FW-BIOSUD"], as: tech).isError == false)
                    #expect(await third.server.sessionCount() == 1)
                    await third.stop()
                } catch {
                    await third.stop()
                    throw error
                }
                let stats = try await harness.mcp.stats(since: Date().addingTimeInterval(-60))
                #expect(stats["observium_get_device_status"]?.calls == 4)
                #expect(stats["observium_get_device_status"]?.failures == 1)
            }
        } catch {
            await first.stop()
            throw error
        }
    }

    @Test func theClientOpensANewSessionWhenTheServerExpiresItsOwn() async throws {
        // Idle time long enough that a loaded machine does not expire the replacement session before it is used.
        try await DemoPeer.with({ $0.sessionIdleTimeout = .seconds(4) }) { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let tech = try await harness.user(.n1)
                #expect(try await harness.call("glpi_get_ticket_details", ["ticket_id": 1236], as: tech).isError == false)
                try await Task.sleep(for: .seconds(6))
                #expect(try await harness.call("glpi_get_ticket_details", ["ticket_id": 1236], as: tech).isError == false)
                let stats = try await harness.mcp.stats(since: Date().addingTimeInterval(-60))
                #expect(stats["glpi_get_ticket_details"]?.successes == 2, "the expired session was replaced without the caller noticing")
            }
        }
    }

    @Test func aSlowToolTimesOutAndTheSessionStaysUsable() async throws {
        try await DemoPeer.with({ $0.toolDelays = ["observium_get_device_metrics": .seconds(30)] }) { peer in
            try await MCPHarness.run(endpoint: peer.endpoint, { $0.mcpCallTimeout = .seconds(1) }) { harness in
                let tech = try await harness.user(.n1)
                let clock = ContinuousClock()
                let start = clock.now
                let timedOut = await appError { try await harness.call("observium_get_device_metrics", ["hostname": "FW-BIOSUD"], as: tech) }
                let elapsed = clock.now - start
                #expect(timedOut?.code == "mcp_timeout")
                #expect(timedOut?.kind == .gatewayTimeout)
                #expect(elapsed >= .seconds(1) && elapsed < .seconds(15), "gave up after \(elapsed) (the tool would take 30 s)")
                // The same 1 s limit applies to the next call: a loaded machine may make one of them slow.
                var answered = false
                for _ in 0..<5 where !answered {
                    answered = (try? await harness.call("observium_get_device_status", ["hostname": "FW-BIOSUD"], as: tech))?.isError == false
                }
                #expect(answered)
                #expect(await peer.server.sessionCount() == 1)
            }
        }
    }

    @Test func timedOutCallsGiveTheirConnectionsBack() async throws {
        // The SDK's server keeps a cancelled request's SSE stream open: if the client kept reading it, every timeout
        // would hold one of the 64 pooled connections for good and later calls would queue behind them.
        try await DemoPeer.with({ $0.toolDelays = ["observium_get_device_metrics": .seconds(60)] }) { peer in
            try await MCPHarness.run(endpoint: peer.endpoint, { $0.mcpCallTimeout = .milliseconds(700) }) { harness in
                let tech = try await harness.user(.n1)
                let codes = await withTaskGroup(of: String?.self) { group in
                    for _ in 0..<80 {
                        group.addTask { await appError { try await harness.call("observium_get_device_metrics", ["hostname": "FW-BIOSUD"], as: tech) }?.code }
                    }
                    return await group.reduce(into: [String?]()) { $0.append($1) }
                }
                #expect(codes.count == 80 && codes.allSatisfy { $0 == "mcp_timeout" }, "\(Set(codes))")
                // Leaked connections would make every later call time out; a loaded machine may still make one slow.
                var answered = 0
                for _ in 0..<10 where answered < 3 {
                    if (try? await harness.call("observium_get_device_status", ["hostname": "FW-BIOSUD"], as: tech))?.isError == false { answered += 1 }
                }
                #expect(answered == 3)
            }
        }
    }

    @Test func aServerThatNeverAnswersIsCutOffWhenTheSessionOpens() async throws {
        try await SilentMCPServer.with { endpoint in
            try await MCPHarness.run(endpoint: endpoint) { harness in
                let connection = MCPConnection(
                    settings: .init(endpoint: endpoint, apiKey: nil, callTimeout: .seconds(30), connectTimeout: .milliseconds(500)),
                    httpClient: harness.services.httpClient, logger: TestDatabase.logger
                )
                let clock = ContinuousClock()
                let start = clock.now
                // Three callers wait on the same opening; all are released by its deadline.
                let outcomes = await withTaskGroup(of: String.self) { group in
                    for _ in 0..<3 {
                        group.addTask {
                            do {
                                _ = try await connection.listTools()
                                return "answered"
                            } catch {
                                return "\(error)"
                            }
                        }
                    }
                    return await group.reduce(into: [String]()) { $0.append($1) }
                }
                #expect(clock.now - start < .seconds(3))
                #expect(outcomes.allSatisfy { $0.contains("unreachable") }, "\(outcomes)")
                await connection.close()
            }
        }
    }

    @Test func cancellingTheCallerEndsTheCallAtOnce() async throws {
        try await DemoPeer.with({ $0.toolDelays = ["glpi_search_client": .seconds(30)] }) { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let tech = try await harness.user(.n1)
                let call = Task { try await harness.call("glpi_search_client", ["query": "Parc"], as: tech) }
                try await Task.sleep(for: .milliseconds(300))
                let clock = ContinuousClock()
                let start = clock.now
                call.cancel()
                let result = await call.result
                // Far below the tool's 30 s, with room for a loaded machine.
                #expect(clock.now - start < .seconds(10))
                #expect(throws: CancellationError.self) { try result.get() }
                #expect(try await harness.call("glpi_get_ticket_details", ["ticket_id": 1235], as: tech).isError == false, "the session is still usable")
                try await Task.sleep(for: .milliseconds(200))
                let stats = try await harness.mcp.stats(since: Date().addingTimeInterval(-60))
                #expect(stats["glpi_search_client"]?.calls == 1, "the cancelled call is recorded")
            }
        }
    }

    @Test func concurrentCallersShareOneSession() async throws {
        try await DemoPeer.with { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let tech = try await harness.user(.n2)
                let hostnames = ["SWITCH-CLIN-STJEAN", "FW-BIOSUD", "AP-MUSICART-RDC", "RTR-CAB-MARTIN", "NAS-CAB-MARTIN"]
                let answers = try await withThrowingTaskGroup(of: String?.self) { group in
                    for index in 0..<40 {
                        group.addTask {
                            try await harness.call("observium_get_device_status", ["hostname": .string(hostnames[index % hostnames.count])], as: tech)
                                .structured?["hostname"]?.stringValue
                        }
                    }
                    return try await group.reduce(into: [String?]()) { $0.append($1) }
                }
                #expect(answers.count == 40)
                #expect(Set(answers.compactMap { $0 }) == Set(hostnames))
                #expect(await peer.server.sessionCount() == 1)
            }
        }
    }

    @Test func theAPIKeyIsSentAndAWrongOneIsReported() async throws {
        try await DemoPeer.with({ $0.apiKey = "cle-mcp-de-test-1234567890" }) { peer in
            try await MCPHarness.run(endpoint: peer.endpoint, { $0.mcpAPIKey = "cle-mcp-de-test-1234567890" }) { harness in
                let answer = try await harness.call("glpi_search_client", ["query": "Jardins"], as: .workflow("SENTINEL"))
                #expect(answer.isError == false)
            }
            try await MCPHarness.run(endpoint: peer.endpoint, { $0.mcpAPIKey = "mauvaise-cle" }) { harness in
                let refused = await appError { try await harness.call("glpi_search_client", ["query": "Jardins"], as: .workflow("SENTINEL")) }
                #expect(refused?.code == "mcp_unauthorized")
                let state = await harness.mcp.serverState()
                #expect(state.reachable == false)
                #expect(state.problem?.contains("MCP_API_KEY") == true)
            }
        }
    }

    @Test func callsAreCountedForPrometheus() async throws {
        try await DemoPeer.with { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let tech = try await harness.user(.n1)
                _ = try await harness.call("glpi_search_client", ["query": "Jardins"], as: tech)
                _ = try await harness.call("glpi_search_client", ["query": "Parc"], as: tech)
                _ = try await harness.call("glpi_search_client", [:], as: tech)
                _ = await appError { try await harness.call("ad_check_user", ["username": "jean.dupont"], as: tech) }
                let exposition = harness.services.metrics.emitToString()
                #expect(exposition.contains(#"widip_mcp_tool_calls_total{tool="ad_check_user",outcome="refused"} 1"#), "a refusal is counted too")
                #expect(exposition.contains(#"widip_mcp_tool_calls_total{tool="glpi_search_client",outcome="success"} 2"#))
                #expect(exposition.contains(#"widip_mcp_tool_calls_total{tool="glpi_search_client",outcome="tool_error"} 1"#))
                #expect(exposition.contains("widip_mcp_tool_call_duration_seconds_count"))
            }
        }
    }

    @Test func withoutAServerEveryCallSaysSoInFrench() async throws {
        try await MCPHarness.run(endpoint: nil) { harness in
            let refused = await appError { try await harness.call("glpi_search_client", ["query": "Jardins"], as: .workflow("SUPPORT")) }
            #expect(refused?.code == "mcp_not_configured")
            #expect(await harness.mcp.serverState().reachable == false)
        }
    }

    @Test func anApprovalIsGivenBackWhenTheServerNeverReceivedTheCall() async throws {
        let peer = try await DemoPeer.start()
        await peer.stop()
        try await MCPHarness.run(endpoint: peer.endpoint) { harness in
            let admin = try await harness.user(.n4)
            try await harness.approvals.add(id: "APR-DOWN", tool: "glpi_close_ticket", arguments: ["ticket_id": 1235, "solution": "Réglé"])
            let down = await appError { try await harness.call("glpi_close_ticket", ["ticket_id": 1235, "solution": "Réglé"], as: admin, approval: "APR-DOWN") }
            #expect(down?.code == "mcp_unreachable")
            #expect(try await harness.approvals.usedAt("APR-DOWN") == nil, "still usable once the server is back")
        }
    }
}

@Suite("MCP pieces without a server", .timeLimit(.minutes(2)))
struct MCPUnitTests {
    @Test func levelOverridesAreParsedAndBadOnesNamed() throws {
        #expect(try ToolCatalogue.parseOverrides("glpi_close_ticket=L2, outil_maison=l1") == ["glpi_close_ticket": .l2, "outil_maison": .l1])
        #expect(throws: ConfigError.self) { try ToolCatalogue.parseOverrides("glpi_close_ticket=L9") }
        let catalogue = try ToolCatalogue.bundled(overrides: ["glpi_close_ticket": .l2, "outil_maison": .l1])
        #expect(catalogue.level(of: "glpi_close_ticket") == .l2)
        #expect(catalogue.level(of: "outil_maison") == .l1)
        #expect(catalogue.level(of: "inconnu") == .l4)
        #expect(catalogue.entries.count == 11)
    }

    @Test func overridesBelowTheCatalogueAreTheOnesWarnedAbout() throws {
        let lowered = try ToolCatalogue.lowered(by: ["ad_reset_password": .l2, "glpi_search_client": .l1, "outil_maison": .l3, "glpi_close_ticket": .l3])
        // Raised or unchanged levels are no risk; a tool the catalogue does not know was L4.
        #expect(lowered.map(\.tool) == ["ad_reset_password", "outil_maison"])
        #expect(lowered.map(\.catalogue) == [.l3, .l4])
        #expect(lowered.map(\.configured) == [.l2, .l3])
    }

    @Test func theEndpointGetsMcpWhenOnlyAServerIsNamed() throws {
        let database = try DatabaseURL(parsing: "postgresql://u:p@localhost:5432/db")
        var config = AppConfig(jwtSecret: String(repeating: "s", count: 40), databaseURL: database, mcpServerURL: "http://localhost:3001")
        #expect(config.mcpEndpoint == "http://localhost:3001/mcp")
        config.mcpServerURL = "https://mcp.widip.fr/outils/mcp"
        #expect(config.mcpEndpoint == "https://mcp.widip.fr/outils/mcp")
    }

    @Test func secretsAreMaskedAtAnyDepth() {
        let arguments: JSONValue = ["username": "a", "Password": "x", "nested": ["api_key": "y", "list": .array([["token": "z", "n": 1]])]]
        #expect(arguments.maskingSecrets == ["username": "a", "Password": "••••••", "nested": ["api_key": "••••••", "list": .array([["token": "••••••", "n": 1]])]])
    }

    @Test func serverSentEventsAreReadAcrossChunksAndLineEndings() {
        var parser = ServerSentEventParser()
        let wire = "id: 1\r\ndata: \r\n\r\nevent: message\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n: keep-alive\n\nevent: other\ndata: skip\n\ndata: {\"b\":2}\n\n"
        var messages: [String] = []
        for byte in Array(wire.utf8) {
            messages += parser.feed(ByteBuffer(bytes: [byte])).map { String(decoding: $0, as: UTF8.self) }
        }
        messages += parser.finish().map { String(decoding: $0, as: UTF8.self) }
        #expect(messages == ["{\"a\":\n1}", "{\"b\":2}"])
    }

    @Test func callerLevelsFollowThePRD() {
        #expect(ToolCaller.user(id: 1, username: "a", level: .n0).maxLevelWithoutApproval == .l0)
        #expect(ToolCaller.user(id: 1, username: "a", level: .n1).maxLevelWithoutApproval == .l1)
        #expect(ToolCaller.user(id: 1, username: "a", level: .n4).maxLevelWithoutApproval == .l2)
        #expect(ToolCaller.workflow("SUPPORT").maxLevelWithoutApproval == .l2)
    }
}

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    subscript(index: Int) -> JSONValue? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    var arrayCount: Int? { arrayValue?.count }
}

extension JSONValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}
