import AsyncHTTPClient
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Checks what the platform depends on (PRD 3.3.1 "Health Status") every `HEALTH_CHECK_INTERVAL_SECONDS`: PostgreSQL,
/// the MCP server, each LLM provider, the embedding service, GLPI and Observium when their addresses are set. Every
/// instance runs one, but only the holder of the lease checks: the others would only repeat its work. When the holder
/// stops, its lease lapses after three intervals and another instance takes over. Each check is kept; a change of
/// state, and only that, becomes a `workflow:health_change` event (the trigger of `health_checks`, migration 0009).
struct HealthMonitor: Service {
    let health: HealthService
    let embeddings: EmbeddingClient
    let httpClient: HTTPClient
    let repository: WorkflowRepository
    let settings: SupervisionSettings
    let glpiURL: String?
    let ready: DatabaseReady
    let logger: Logger
    /// This instance, for the lease.
    let instance = UUID().uuidString

    static let lease = "health-monitor"
    /// Slower than this is "degraded": it answers, but a technician will feel it.
    var slow: Duration = .seconds(2)

    var interval: Duration { settings.healthCheckInterval ?? .seconds(30) }

    func run() async throws {
        try await runRounds(ready: ready, signal: WakeSignal(), longestSleep: interval, logger: logger, failure: "Health check round failed; retrying") {
            try await round()
            return Date().addingTimeInterval(interval.seconds)
        }
    }

    /// Checks everything and records it, if this instance holds the lease. Returns whether it did.
    @discardableResult
    func round() async throws -> Bool {
        guard try await repository.hold(lease: Self.lease, holder: instance, for: interval * 3) else { return false }
        // One transaction per check: a change takes the bus's lock, and holding it while waiting for another
        // dependency's turn could deadlock with a workflow reporting that dependency.
        for check in await checks() {
            try await repository.client.transaction(logger: logger) { connection in
                try await repository.insert(check, source: "moniteur", on: connection)
            }
        }
        return true
    }

    func checks() async -> [HealthCheck] {
        async let database = health.database()
        async let mcp = health.mcpServer()
        async let models = health.languageModels()
        async let embedding = embeddingCheck()
        async let glpi = webCheck("glpi", url: glpiURL)
        async let observium = webCheck("observium", url: settings.observiumURL)
        let components = [await database, await mcp] + (await models)
        let now = Date()
        let checks = components.compactMap { component -> HealthCheck? in
            // Not configured is not a state of the dependency: nothing to show.
            guard let state = HealthState(rawValue: component.status) else { return nil }
            let latency = component.latencyMs.map { Int($0.rounded()) }
            let slow = state == .ok && (latency ?? 0) > Int(self.slow.seconds * 1000)
            return HealthCheck(
                dependency: component.name.replacingOccurrences(of: "llm:", with: "llm-"), state: slow ? .degraded : state, latencyMs: latency,
                detail: component.detail, at: now
            )
        }
        return checks + [await embedding, await glpi, await observium].compactMap { $0 }
    }

    func embeddingCheck() async -> HealthCheck? {
        guard embeddings.isConfigured else { return nil }
        let start = ContinuousClock.now
        do {
            _ = try await withTimeout(.seconds(10)) { try await embeddings.embed(["état du service"], for: .query) }
            return timed("embeddings", since: start, detail: "Service d'embeddings joignable")
        } catch {
            return HealthCheck(dependency: "embeddings", state: .down, latencyMs: nil, detail: "Service d'embeddings injoignable", at: Date())
        }
    }

    /// A web application answers when it returns any HTTP status below 500 (a login page, a redirect).
    func webCheck(_ name: String, url: String?) async -> HealthCheck? {
        guard let url else { return nil }
        let start = ContinuousClock.now
        let label = name == "glpi" ? "GLPI" : "Observium"
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            let response = try await httpClient.execute(request, timeout: .seconds(5))
            _ = try? await response.body.collect(upTo: 1 << 20)
            guard response.status.code < 500 else {
                return HealthCheck(dependency: name, state: .down, latencyMs: nil, detail: "\(label) répond HTTP \(response.status.code)", at: Date())
            }
            return timed(name, since: start, detail: "\(label) joignable : \(HealthService.origin(url))")
        } catch {
            return HealthCheck(dependency: name, state: .down, latencyMs: nil, detail: "\(label) injoignable : \(HealthService.origin(url))", at: Date())
        }
    }

    func timed(_ name: String, since start: ContinuousClock.Instant, detail: String) -> HealthCheck {
        let elapsed = ContinuousClock.now - start
        return HealthCheck(
            dependency: name, state: elapsed > slow ? .degraded : .ok, latencyMs: Int(elapsed.milliseconds.rounded()), detail: detail, at: Date()
        )
    }
}

extension WorkflowRepository {
    /// Takes or renews a lease; false while another holder's lease runs.
    func hold(lease name: String, holder: String, for duration: Duration) async throws -> Bool {
        let rows = try await client.query(
            """
            INSERT INTO supervision_leases AS lease (name, holder, expires_at) VALUES (\(name), \(holder), NOW() + make_interval(secs => \(duration.seconds)))
            ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
            WHERE lease.holder = EXCLUDED.holder OR lease.expires_at < NOW()
            RETURNING 1
            """,
            logger: logger
        )
        for try await _ in rows { return true }
        return false
    }

    /// Checks older than `age` go; the dashboards show the current state and the recent changes.
    func pruneHealthChecks(olderThan days: Int) async throws {
        try await client.query("DELETE FROM health_checks WHERE checked_at < NOW() - make_interval(days => \(days)::int)", logger: logger)
    }

    /// A delivery retried after this long is taken as new: Phase 1 retries within minutes, not weeks.
    func pruneReceipts(olderThan days: Int) async throws {
        try await client.query("DELETE FROM workflow_event_receipts WHERE received_at < NOW() - make_interval(days => \(days)::int)", logger: logger)
    }
}
