import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Wakes a background loop before its next tick (an approval to execute now). A wake with nobody waiting is kept
/// for the next wait, so none is lost between two waits.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func wake() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns when woken, or after `timeout`.
    func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForWake() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForWake() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}

extension Service {
    /// The loop of a background service that works in rounds: after the migrations, one round, then sleep until the
    /// time the round returns (a deadline, a retry), at most `longestSleep`, or until `signal` wakes it. Cancelled as
    /// a whole at shutdown: a query waiting on an unreachable database must not hold the server up.
    func runRounds(
        ready: DatabaseReady, signal: WakeSignal, longestSleep: Duration, logger: Logger, failure: String,
        _ round: @escaping @Sendable () async throws -> Date?
    ) async throws {
        try? await cancelWhenGracefulShutdown {
            await ready.wait()
            while !Task.isCancelled {
                var next: Date?
                do {
                    next = try await round()
                } catch where !Task.isCancelled {
                    logger.warning("\(failure)", metadata: ["error": "\(String(reflecting: error))"])
                    next = Date().addingTimeInterval(1)
                }
                // A few milliseconds after the deadline, so that NOW() in the database has passed it.
                let wait = min(longestSleep.seconds, max(0.02, (next ?? .distantFuture).timeIntervalSinceNow + 0.02))
                await signal.wait(upTo: .milliseconds(Int64(wait * 1000)))
            }
        }
    }
}
