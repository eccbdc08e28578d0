import AsyncHTTPClient
import Logging
import ServiceLifecycle

/// Periodic clean-up of short-lived rows. Every statement is idempotent, so several instances may run it at once.
struct MaintenanceService: Service {
    let sessions: SessionRepository
    let limiter: RateLimiter
    let events: EventRepository
    let toolCalls: ToolCallRepository
    let eventRetention: Duration
    let interval: Duration
    let logger: Logger

    func run() async throws {
        // The first tick waits one interval: at start-up the migrations may not have run yet.
        while (try? await gracefulShutdownSleep(for: interval)) != nil {
            do {
                try await limiter.prune()
                try await sessions.pruneExpired()
                try await events.prune(olderThan: eventRetention)
                try await toolCalls.prune(olderThan: Self.toolCallRetention)
            } catch {
                logger.warning("Maintenance failed; retrying at the next tick", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }
}

extension MaintenanceService {
    /// The tools page shows the last 24 hours; a month is kept for trends.
    static let toolCallRetention: Duration = .seconds(30 * 24 * 3600)
}

/// Owns the outbound HTTP client and the MCP session: both are closed when the server stops.
struct OutboundHTTPService: Service {
    let httpClient: HTTPClient
    let mcp: MCPConnection?

    func run() async throws {
        try? await gracefulShutdown()
        await mcp?.close()
        try await httpClient.shutdown()
    }
}

extension Service {
    /// Sleeps, returning early (by throwing) when the service group shuts down.
    func gracefulShutdownSleep(for duration: Duration) async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    }
}
