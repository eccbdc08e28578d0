import Foundation
import Testing
@testable import WidipApp

@Suite("Our MCP client against a server written with the official Python SDK, over a real socket", .timeLimit(.minutes(2)))
struct PythonPeerTests {
    @Test(arguments: [false, true])
    func listsAndCallsToolsWhetherTheServerAnswersInSSEOrJSON(jsonReplies: Bool) async throws {
        try await PythonMCPPeer.with(jsonReplies: jsonReplies) { peer in
            try await MCPHarness.run(endpoint: peer.endpoint) { harness in
                let tools = Dictionary(uniqueKeysWithValues: try await harness.mcp.tools().map { ($0.name, $0) })
                #expect(tools["observium_get_device_status"]?.level == .l0)
                #expect(tools["observium_get_device_status"]?.offered == true)
                #expect(tools["observium_get_device_status"]?.readOnlyHint == true)
                let stranger = try #require(tools["outil_phase1_inconnu"])
                #expect(stranger.catalogued == false)
                #expect(stranger.level == .l4)
                #expect(stranger.destructiveHint == true)
                #expect(tools["ad_reset_password"]?.offered == false, "catalogued but not offered by this server")

                let tech = try await harness.user(.n2)
                let status = try await harness.call("observium_get_device_status", ["hostname": "switch-clin-stjean"], as: tech)
                #expect(status.isError == false)
                #expect(status.text.contains("\"UP\""), "\(status.text)")
                let unknown = try await harness.call("observium_get_device_status", ["hostname": "inexistant"], as: tech)
                #expect(unknown.isError)
                #expect(unknown.text.contains("Équipement inconnu"), "the server's own French message reaches the caller: \(unknown.text)")
                let cases = try await harness.call("memory_search_similar_cases", ["query": "switch", "limit": 3], as: tech)
                #expect(cases.text == "2 cas trouvés pour « switch »")

                let admin = try await harness.user(.n4)
                let refused = await appError { try await harness.call("outil_phase1_inconnu", ["username": "jean.dupont"], as: admin) }
                #expect(refused?.code == "approval_required", "a tool the catalogue does not know needs an approval, whatever its annotations")
                #expect((await harness.mcp.serverState()).reachable)
            }
        }
    }

    @Test func aToolListChangedNotificationRefreshesTheCachedList() async throws {
        try await PythonMCPPeer.with { peer in
            try await MCPHarness.run(endpoint: peer.endpoint, { $0.mcpToolLevels = ["publier_nouvel_outil": .l0] }) { harness in
                #expect(try await harness.mcp.tools().contains { $0.name == "glpi_add_followup" } == false)
                _ = try await harness.call("publier_nouvel_outil", as: .workflow("ENRICHISSEUR"))
                var listed = false
                for _ in 0..<50 where !listed {
                    listed = try await harness.mcp.tools().contains { $0.name == "glpi_add_followup" }
                    if !listed { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(listed, "the cached list is dropped when the server says it changed")
            }
        }
    }

    @Test func recoversWhenThePythonServerIsRestarted() async throws {
        let first = try await PythonMCPPeer.start()
        let port = first.port
        do {
            try await MCPHarness.run(endpoint: first.endpoint) { harness in
                let tech = try await harness.user(.n1)
                #expect(try await harness.call("observium_get_device_status", ["hostname": "SWITCH-CLIN-STJEAN"], as: tech).isError == false)
                await first.stop()
                let second = try await PythonMCPPeer.start(port: port)
                do {
                    // The new process does not know our session: its 404 makes the client open a new one and retry.
                    #expect(try await harness.call("observium_get_device_status", ["hostname": "SWITCH-CLIN-STJEAN"], as: tech).isError == false)
                    await second.stop()
                } catch {
                    await second.stop()
                    throw error
                }
            }
        } catch {
            await first.stop()
            throw error
        }
    }

    @Test func aSlowToolTimesOutAndTheSessionStaysUsable() async throws {
        try await PythonMCPPeer.with { peer in
            // The slow call takes 30 s; 5 s leaves the next call time to answer on a loaded machine.
            try await MCPHarness.run(endpoint: peer.endpoint, { $0.mcpCallTimeout = .seconds(5) }) { harness in
                let tech = try await harness.user(.n1)
                let timedOut = await appError { try await harness.call("memory_search_similar_cases", ["query": "lent"], as: tech) }
                #expect(timedOut?.code == "mcp_timeout")
                #expect(try await harness.call("memory_search_similar_cases", ["query": "wifi"], as: tech).isError == false)
            }
        }
    }
}
