import Foundation
import ServiceLifecycle

/// Wakes SAFEGUARD's background services when the bus says something concerns them, on whichever instance it
/// happened: an approval to execute, a deadline that moved, an outcome to call back. Between events they only look
/// at the tables now and then, so an idle instance costs the database almost nothing.
struct SafeguardWakeups: Service {
    let hub: EventHub
    let executor: WakeSignal
    let clock: WakeSignal
    let callbacks: WakeSignal

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let subscription = Subscription(sessionID: UUID(), level: .n4, channels: [EventChannel.safeguard.rawValue])
                await hub.add(subscription)
                // Whatever happened while not subscribed is found by the services' next look at the tables.
                for signal in [executor, clock, callbacks] { signal.wake() }
                for await event in subscription.events { route(event.type) }
                await hub.remove(subscription)
                // The queue overflowed (a burst) or the listener restarted: subscribe again, after a breath.
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    func route(_ type: String) {
        let step = type.hasPrefix("safeguard:request_") ? String(type.dropFirst("safeguard:request_".count)) : "created"
        clock.wake()
        if ["approved", "execution_retry", "execution_interrupted"].contains(step) { executor.wake() }
        if ["approved", "rejected", "expired", "executed", "failed"].contains(step) { callbacks.wake() }
    }
}
