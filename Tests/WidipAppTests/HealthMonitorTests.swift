import Foundation
import Hummingbird
import PostgresNIO
import Testing

@testable import WidipApp

/// The health monitor: one instance checks at a time, each check is kept, and only a change of state is an event.
@Suite struct HealthMonitorTests {
    /// A monitor standing for one instance (the test server runs none of its own).
    static func monitor(_ services: AppServices, glpi: String?) -> HealthMonitor {
        var monitor = HealthMonitor(
            health: HealthService(client: services.postgres, config: services.config, mcp: services.mcp, llm: services.llm, logger: services.logger),
            embeddings: services.embeddings, httpClient: services.httpClient, repository: WorkflowRepository(client: services.postgres, logger: services.logger),
            settings: services.config.supervision, glpiURL: glpi, ready: DatabaseReady(), logger: services.logger
        )
        // A loaded test machine is slow: "degraded" is not what these tests look at.
        monitor.slow = .seconds(60)
        return monitor
    }

    static func changes(_ services: AppServices) async throws -> [String] {
        try await services.events.events(after: 0, channels: ["supervision"], limit: 100).filter { $0.type == "workflow:health_change" }.map { event in
            let data = (try? JSONDecoder().decode([String: JSONValue].self, from: Data(event.dataJSON.utf8))) ?? [:]
            return "\(data["dependency"]?.stringValue ?? "?")=\(data["status"]?.stringValue ?? "?")"
        }
    }

    @Test func oneInstanceChecksAtATimeAndOnlyAChangeIsPublished() async throws {
        let router = Router()
        router.get("/") { _, _ in "GLPI" }
        let (port, glpi) = try await serveInProcess(router, name: "glpi")
        try await LiveServer.run { server in
            let first = Self.monitor(server.services, glpi: "http://127.0.0.1:\(port)/")
            let second = Self.monitor(server.services, glpi: "http://127.0.0.1:\(port)/")
            #expect(try await first.round())
            #expect(try await second.round() == false, "the first instance holds the lease")
            #expect(try await Self.changes(server.services).sorted() == ["database=ok", "glpi=ok"])

            #expect(try await first.round())
            #expect(try await Self.changes(server.services).count == 2, "the same states are not news")

            await glpi.stop()
            #expect(try await first.round())
            #expect(try await Self.changes(server.services).last == "glpi=down")

            // The holder stops renewing: once its lease has lapsed, another instance takes over.
            try await server.services.postgres.query("UPDATE supervision_leases SET expires_at = NOW() - INTERVAL '1 second'", logger: TestDatabase.logger)
            #expect(try await second.round())
            #expect(try await first.round() == false)
            var kept = 0
            for try await count in try await server.services.postgres.query(
                "SELECT count(*)::int FROM health_checks WHERE dependency = 'glpi'", logger: TestDatabase.logger
            ).decode(Int.self) { kept = count }
            #expect(kept == 4, "every check is kept")
            let (_, token) = try await server.signedIn(.n3)
            let overview = try await server.request(.get, "/api/supervision/overview", token: token)
            let health = overview.json["health"] as? [[String: Any]] ?? []
            #expect(health.first { $0["dependency"] as? String == "glpi" }?["status"] as? String == "down")
        }
    }

    @Test func maintenanceForgetsChecksAndDeliveryReceiptsOlderThanThirtyDays() async throws {
        try await LiveServer.run { server in
            let repository = WorkflowRepository(client: server.services.postgres, logger: server.services.logger)
            try await SupervisionDashboardTests.execute(server, [
                "INSERT INTO health_checks (dependency, status, source, checked_at) VALUES ('glpi', 'ok', 'test', NOW() - INTERVAL '31 days'), ('glpi', 'ok', 'test', NOW())",
                """
                INSERT INTO workflow_event_receipts (workflow, event_id, type, outcome, received_at)
                VALUES ('SUPPORT', 'old', 'workflow:error', '{}', NOW() - INTERVAL '31 days'), ('SUPPORT', 'new', 'workflow:error', '{}', NOW())
                """,
            ])
            try await repository.pruneHealthChecks(olderThan: 30)
            try await repository.pruneReceipts(olderThan: 30)
            var left: [String] = []
            for try await id in try await server.services.postgres.query(
                "SELECT event_id FROM workflow_event_receipts UNION ALL SELECT 'check' FROM health_checks", logger: TestDatabase.logger
            ).decode(String.self) { left.append(id) }
            #expect(left.sorted() == ["check", "new"])
        }
    }
}
