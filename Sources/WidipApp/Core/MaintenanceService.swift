import Logging
import ServiceLifecycle

/// Periodic clean-up of short-lived rows. Every statement is idempotent, so several instances may run it at once.
struct MaintenanceService: Service {
    let sessions: SessionRepository
    let limiter: RateLimiter
    let events: EventRepository
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
            } catch {
                logger.warning("Maintenance failed; retrying at the next tick", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }
}

extension Service {
    /// Sleeps, returning early (by throwing) when the service group shuts down.
    func gracefulShutdownSleep(for duration: Duration) async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    }
}
