import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PostgresNIO
import WidipApp
import WidipTestSupport

// SUPERVISION's dashboards over a large history: 1 M SUPPORT logs, 200 k incidents and 100 k SAFEGUARD requests
// spread over 30 days, served by one `widip serve` (release). Each endpoint is timed over HTTP (JSON encoding and the
// socket included), next to hand-written SQL for the same figures on one connection, in the same run: the SQL one
// would write against the tables themselves, without the hourly counts.
// Run with bench/run supervision. Prints figures; asserts nothing.

let logRows = Int(ProcessInfo.processInfo.environment["BENCH_LOGS"] ?? "") ?? 1_000_000
let incidentRows = logRows / 5
let approvalRows = logRows / 10
let rounds = Int(ProcessInfo.processInfo.environment["BENCH_ROUNDS"] ?? "") ?? 60

@main
struct SupervisionBench {
    static func main() async throws {
        let settings = BenchSettings.fromEnvironment()
        let logger = BenchSettings.logger
        let config = try settings.config()
        let services = try await AppServices(config: config, logger: logger)
        let http = HTTPClient(eventLoopGroup: .singletonMultiThreadedEventLoopGroup)
        defer { Task { try? await http.shutdown() } }

        try await services.withDatabase { services in
            _ = try await services.migrate()
            let seeded = try await timed { try await seed(services.postgres, logger: logger) }
            print(String(format: "Données : %d journaux SUPPORT, %d incidents, %d demandes SAFEGUARD sur 30 jours (préparées en %.0f s)",
                         logRows, incidentRows, approvalRows, seeded.1.milliseconds / 1000))
            if try await services.users.list(search: "bench-supervision").isEmpty {
                _ = try await services.users.create(NewUser(username: "bench-supervision", password: "mot-de-passe-bench", level: .n3), actorID: nil, client: .commandLine)
            }
            let token = try await services.auth.login(username: "bench-supervision", password: "mot-de-passe-bench", client: .commandLine).token

            let port = Int.random(in: 47100...47900)
            let server = try ServerProcess(binary: settings.widipBinary, port: port, environment: settings.serverEnvironment())
            defer { server.stop() }
            try await server.waitUntilListening()

            print("")
            print("Tableaux de bord : \(rounds) appels par mesure après 5 d'échauffement, 1 instance widip (release), \(ProcessInfo.processInfo.activeProcessorCount) cœurs vus")
            print("  mesure                               widip (HTTP)                SQL écrit à la main (1 connexion)     p95 widip / SQL")
            for period in ["24h", "30d"] {
                for endpoint in ["overview", "support", "sentinel", "enrichisseur", "safeguard"] {
                    let path = "/api/supervision/\(endpoint)?period=\(period)"
                    let served = try await measure { try await get(http, port: port, path: path, token: token) }
                    let hand = try await services.postgres.withConnection { connection in
                        try await measure { try await handSQL(endpoint, period: period, on: connection, logger: logger) }
                    }
                    print(String(
                        format: "  %-12@ %-4@  p50 %6.1f ms  p95 %6.1f ms     p50 %6.1f ms  p95 %6.1f ms           %.2f×",
                        endpoint, period, served.percentile(0.5), served.percentile(0.95), hand.percentile(0.5), hand.percentile(0.95),
                        served.percentile(0.95) / hand.percentile(0.95)
                    ))
                }
            }
            let rows = try await measure { try await get(http, port: port, path: "/api/supervision/alerts?period=24h&state=resolved&limit=200", token: token) }
            print(String(format: "  drill-down alertes résolues 24 h, 200 lignes    p50 %6.1f ms  p95 %6.1f ms", rows.percentile(0.5), rows.percentile(0.95)))
        }
    }

    static func measure(_ body: () async throws -> Void) async throws -> Figures {
        for _ in 0..<5 { try await body() }
        var figures = Figures()
        for _ in 0..<rounds { figures.add(try await timed { try await body() }.1) }
        return figures
    }

    static func get(_ http: HTTPClient, port: Int, path: String, token: String) async throws {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response = try await http.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 16 << 20)
        guard response.status == .ok else { throw BenchError("\(path): \(response.status.code) \(String(buffer: body))") }
    }

    struct BenchError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The history, written by SQL in bulk: the tables' event triggers are off meanwhile (a million events would
    /// only measure the bus), then the planner's statistics are refreshed as autovacuum would.
    static func seed(_ client: PostgresClient, logger: Logger) async throws {
        var existing = 0
        for try await count in try await client.query("SELECT count(*)::int FROM widip_agent_logs", logger: logger).decode(Int.self) { existing = count }
        guard existing < logRows else { return }
        let statements: [PostgresQuery] = [
            "TRUNCATE widip_agent_logs, incident_logs",
            "DELETE FROM safeguard_approvals",
            "ALTER TABLE widip_agent_logs DISABLE TRIGGER USER",
            "ALTER TABLE incident_logs DISABLE TRIGGER USER",
            "ALTER TABLE safeguard_approvals DISABLE TRIGGER USER",
            """
            INSERT INTO widip_agent_logs (ticket_id, category, status, auto_resolved, client_name, action, duration_ms, created_at, correlation_id)
            SELECT (100000 + i)::text,
                   (ARRAY['RESET_MDP', 'RESET_MDP', 'DEBLOCAGE', '#DIAG', 'AUTRE'])[1 + i % 5],
                   (ARRAY['resolu', 'resolu', 'resolu', 'en_cours', 'escalade'])[1 + (i / 5) % 5],
                   (i / 5) % 5 < 3 AND i % 5 < 3,
                   'Client ' || (i % 40), 'ad_reset_password', 1000 + i % 30000,
                   NOW() - make_interval(secs => (i::float8 / \(logRows)) * 30 * 86400),
                   'TKT-' || (100000 + i)
            FROM generate_series(1, \(logRows)) AS i
            """,
            """
            INSERT INTO widip_agent_logs (ticket_id, category, status, auto_resolved, error, created_at, correlation_id)
            SELECT (900000 + i)::text, 'AUTRE', 'en_cours', false, 'Timeout MCP', NOW() - make_interval(secs => (i::float8 / 3000) * 30 * 86400), 'TKT-E' || i
            FROM generate_series(1, 3000) AS i
            """,
            """
            INSERT INTO incident_logs (alert_id, device_name, client_name, status, responsibility, confidence, ticket_id, timeline, detected_at, resolved_at, correlation_id)
            SELECT i::text, 'DEVICE-' || (i % 300), 'Client ' || (i % 40),
                   CASE WHEN i % 100 = 0 THEN 'open' WHEN i % 100 = 1 THEN 'diagnosing' ELSE 'resolved' END,
                   (ARRAY['FAI', 'FAI', 'Local', 'WIDIP', 'Indéterminé'])[1 + i % 5], 40 + i % 60, (500000 + i)::text,
                   jsonb_build_array(jsonb_build_object('at', to_char(NOW() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'text', 'Ticket créé')),
                   NOW() - make_interval(secs => (i::float8 / \(incidentRows)) * 30 * 86400),
                   CASE WHEN i % 100 IN (0, 1) THEN NULL
                        ELSE NOW() - make_interval(secs => (i::float8 / \(incidentRows)) * 30 * 86400) + INTERVAL '45 minutes' END,
                   'ALR-' || i
            FROM generate_series(1, \(incidentRows)) AS i
            """,
            """
            INSERT INTO safeguard_approvals (approval_id, tool_name, security_level, status, context, created_at, expires_at, decided_at)
            SELECT 'APR-BENCH-' || i, (ARRAY['ad_reset_password', 'ad_reset_password', 'glpi_close_ticket', 'ad_disable_account', 'ad_copy_groups_from'])[1 + i % 5],
                   'L3', CASE WHEN i < 20 THEN 'pending' WHEN i % 10 = 0 THEN 'rejected' WHEN i % 10 = 1 THEN 'expired' ELSE 'executed' END,
                   jsonb_build_object('client_name', 'Client ' || (i % 40), 'ticket_id', (100000 + i)::text),
                   NOW() - make_interval(secs => (i::float8 / \(approvalRows)) * 30 * 86400),
                   CASE WHEN i < 20 THEN NOW() + INTERVAL '50 minutes' ELSE NOW() - make_interval(secs => (i::float8 / \(approvalRows)) * 30 * 86400) + INTERVAL '1 hour' END,
                   CASE WHEN i < 20 OR i % 10 = 1 THEN NULL
                        ELSE NOW() - make_interval(secs => (i::float8 / \(approvalRows)) * 30 * 86400) + make_interval(secs => 60 + i % 1200) END
            FROM generate_series(1, \(approvalRows)) AS i
            """,
            "ALTER TABLE widip_agent_logs ENABLE TRIGGER USER",
            "ALTER TABLE incident_logs ENABLE TRIGGER USER",
            "ALTER TABLE safeguard_approvals ENABLE TRIGGER USER",
            // The hourly counts the triggers would have kept, counted once.
            "SELECT widip_rebuild_supervision_hours()",
        ]
        for statement in statements { try await client.query(statement, logger: logger) }
        for table in [
            "widip_agent_logs", "incident_logs", "safeguard_approvals", "widip_knowledge_base", "messages", "supervision_ticket_hours",
            "supervision_incident_hours", "supervision_approval_hours",
        ] {
            try await client.query(PostgresQuery(unsafeSQL: "VACUUM ANALYZE \(table)"), logger: logger)
        }
    }

    /// The same figures as each endpoint, as someone would write them by hand for this one page: fewer statements
    /// (one per block of the page), run one after the other on one connection.
    static func handSQL(_ endpoint: String, period: String, on connection: PostgresConnection, logger: Logger) async throws {
        let seconds = period == "24h" ? 86_400.0 : 30 * 86_400.0
        let unit = period == "24h" ? "hour" : "day"
        func run(_ query: PostgresQuery) async throws {
            for try await _ in try await connection.query(query, logger: logger) {}
        }
        switch endpoint {
        case "overview":
            try await run("""
                SELECT (SELECT count(*) FROM widip_agent_logs WHERE created_at >= NOW() - make_interval(secs => \(seconds))),
                       (SELECT count(*) FROM widip_agent_logs WHERE created_at >= NOW() - make_interval(secs => \(2 * seconds))
                                                             AND created_at < NOW() - make_interval(secs => \(seconds))),
                       (SELECT count(*) FROM incident_logs WHERE detected_at >= NOW() - make_interval(secs => \(seconds))),
                       (SELECT count(*) FROM incident_logs WHERE detected_at >= NOW() - make_interval(secs => \(2 * seconds))
                                                            AND detected_at < NOW() - make_interval(secs => \(seconds))),
                       (SELECT count(*) FROM safeguard_approvals WHERE status = 'pending'),
                       (SELECT count(*) FROM widip_knowledge_base)
                """)
            try await run("SELECT * FROM health_status")
            try await run("""
                SELECT * FROM ((SELECT created_at, ticket_id FROM widip_agent_logs ORDER BY created_at DESC LIMIT 15)
                UNION ALL (SELECT detected_at, alert_id FROM incident_logs ORDER BY detected_at DESC LIMIT 15)
                UNION ALL (SELECT created_at, approval_id FROM safeguard_approvals ORDER BY created_at DESC LIMIT 15)) AS feed
                ORDER BY 1 DESC LIMIT 15
                """)
            try await run("""
                SELECT date_trunc(\(unit), created_at AT TIME ZONE 'Europe/Paris'), count(*) FROM widip_agent_logs
                WHERE created_at >= NOW() - make_interval(secs => \(seconds)) GROUP BY 1
                """)
            try await run("""
                SELECT date_trunc(\(unit), detected_at AT TIME ZONE 'Europe/Paris'), count(*) FROM incident_logs
                WHERE detected_at >= NOW() - make_interval(secs => \(seconds)) GROUP BY 1
                """)
        case "support":
            try await run("""
                SELECT created_at >= NOW() - make_interval(secs => \(seconds)), category, count(*), count(*) FILTER (WHERE auto_resolved),
                       count(*) FILTER (WHERE status = 'escalade')
                FROM widip_agent_logs WHERE created_at >= NOW() - make_interval(secs => \(2 * seconds)) GROUP BY 1, 2
                """)
            try await run("""
                SELECT date_trunc(\(unit), created_at AT TIME ZONE 'Europe/Paris'), count(*) FROM widip_agent_logs
                WHERE created_at >= NOW() - make_interval(secs => \(seconds)) GROUP BY 1
                """)
            try await run("SELECT * FROM widip_agent_logs ORDER BY created_at DESC LIMIT 10")
            try await run("""
                SELECT * FROM widip_agent_logs WHERE error IS NOT NULL AND created_at >= NOW() - INTERVAL '48 hours' ORDER BY created_at DESC
                """)
        case "sentinel":
            try await run("""
                SELECT detected_at >= NOW() - make_interval(secs => \(seconds)), responsibility, count(*),
                       count(*) FILTER (WHERE resolved_at IS NULL AND status <> 'diagnosing'), count(*) FILTER (WHERE status = 'diagnosing'),
                       count(*) FILTER (WHERE resolved_at IS NOT NULL)
                FROM incident_logs WHERE detected_at >= NOW() - make_interval(secs => \(2 * seconds)) GROUP BY 1, 2
                """)
            try await run("SELECT client_name, count(*), min(detected_at) FROM incident_logs WHERE resolved_at IS NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10")
            try await run("""
                SELECT DISTINCT ON (client_name) client_name, resolved_at FROM incident_logs
                WHERE resolved_at >= NOW() - make_interval(secs => \(seconds)) ORDER BY client_name, resolved_at DESC
                """)
            try await run("""
                SELECT date_trunc(\(unit), detected_at AT TIME ZONE 'Europe/Paris'), count(*) FROM incident_logs
                WHERE detected_at >= NOW() - make_interval(secs => \(seconds)) GROUP BY 1
                """)
            try await run("SELECT * FROM incident_logs ORDER BY detected_at DESC LIMIT 10")
        case "enrichisseur":
            try await run("""
                SELECT source_type, count(*), count(*) FILTER (WHERE created_at >= NOW() - make_interval(secs => \(seconds))) FROM widip_knowledge_base GROUP BY 1
                """)
            try await run("SELECT * FROM ingestion_runs ORDER BY finished_at DESC LIMIT 10")
            try await run("""
                SELECT count(*), count(*) FILTER (WHERE rag_used) FROM messages
                WHERE role = 'assistant' AND created_at >= NOW() - make_interval(secs => \(2 * seconds))
                """)
            try await run("SELECT knowledge_id, count(*) FROM knowledge_feedback WHERE resolved_at IS NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10")
        default:
            try await run("SELECT approval_id, tool_name, expires_at FROM safeguard_approvals WHERE status = 'pending' ORDER BY expires_at LIMIT 10")
            try await run("""
                SELECT created_at >= NOW() - make_interval(secs => \(seconds)), status, tool_name, count(*),
                       avg(decided_at - created_at), percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - created_at))
                FROM safeguard_approvals WHERE created_at >= NOW() - make_interval(secs => \(2 * seconds)) GROUP BY 1, 2, 3
                """)
            try await run("""
                SELECT date_trunc(\(unit), created_at AT TIME ZONE 'Europe/Paris'), count(*) FROM safeguard_approvals
                WHERE created_at >= NOW() - make_interval(secs => \(seconds)) GROUP BY 1
                """)
        }
    }
}
