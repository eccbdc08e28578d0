import Logging
import ServiceLifecycle

/// Runs the modules' periodic clean-up. Every task is idempotent, so several instances may run them at once; one
/// that fails does not stop the others and is tried again at the next tick.
struct MaintenanceService: Service {
    let tasks: [MaintenanceTask]
    let interval: Duration
    let logger: Logger

    func run() async throws {
        // The first tick waits one interval: at start-up the migrations may not have run yet.
        while (try? await gracefulShutdownSleep(for: interval)) != nil {
            for task in tasks {
                do {
                    try await task.run()
                } catch {
                    logger.warning("Maintenance failed; retrying at the next tick", metadata: ["task": "\(task.name)", "error": "\(String(reflecting: error))"])
                }
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
