import Foundation
import Synchronization

/// Why the server ended a subscription; each maps to a WebSocket close code the browser module understands.
public enum SubscriptionEnd: Sendable, Equatable {
    /// The client did not read fast enough and its queue filled: it should reconnect and resume.
    case tooSlow
    /// Logout, deactivation, password reset or expiry: the client must sign in again.
    case sessionEnded
    case shuttingDown

    public var closeCode: Int {
        switch self {
        case .tooSlow: 4008
        case .sessionEnded: 4001
        case .shuttingDown: 1001
        }
    }

    public var reason: String {
        switch self {
        case .tooSlow: "File d'attente pleine : reconnectez-vous et reprenez"
        case .sessionEnded: "Session terminée"
        case .shuttingDown: "Arrêt du serveur"
        }
    }
}

/// One client's subscription: a bounded queue the hub fills and the client's socket drains.
public final class Subscription: Sendable {
    public static let queueCapacity = 512

    public let id = UUID()
    public let sessionID: UUID
    public let level: AccreditationLevel
    public let channels: Set<String>
    public let events: AsyncStream<StoredEvent>
    private let continuation: AsyncStream<StoredEvent>.Continuation
    private let ending = Mutex<SubscriptionEnd?>(nil)

    public init(sessionID: UUID, level: AccreditationLevel, channels: Set<String>) {
        self.sessionID = sessionID
        self.level = level
        self.channels = channels
        (events, continuation) = AsyncStream.makeStream(of: StoredEvent.self, bufferingPolicy: .bufferingOldest(Self.queueCapacity))
    }

    /// Why the queue ended, once it has.
    public var end: SubscriptionEnd? { ending.withLock { $0 } }

    func deliver(_ event: StoredEvent) {
        if case .dropped = continuation.yield(event) { finish(.tooSlow) }
    }

    /// Ends the queue; the first reason given is the one reported.
    public func finish(_ reason: SubscriptionEnd) {
        ending.withLock { if $0 == nil { $0 = reason } }
        continuation.finish()
    }
}

/// This instance's subscribers, fed by the listener with every committed event in id order.
public actor EventHub {
    private var subscriptions: [UUID: Subscription] = [:]
    private var start: Int64?
    private var waitingForStart: [CheckedContinuation<Int64, Never>] = []

    public init() {}

    /// Records the newest event id when the server starts, before it accepts any client.
    public func setStartingPoint(_ id: Int64) {
        guard start == nil else { return }
        start = id
        for waiter in waitingForStart { waiter.resume(returning: id) }
        waitingForStart.removeAll()
    }

    /// The id the listener reads after on its first connection (waits until the server has started).
    public func startingPoint() async -> Int64 {
        if let start { return start }
        return await withCheckedContinuation { waitingForStart.append($0) }
    }

    public func add(_ subscription: Subscription) {
        subscriptions[subscription.id] = subscription
    }

    public func remove(_ subscription: Subscription) {
        subscriptions[subscription.id] = nil
    }

    public func dispatch(_ events: [StoredEvent]) {
        for event in events {
            if event.channel == EventChannel.session.rawValue {
                endSessions(of: event)
                continue
            }
            for subscription in subscriptions.values where subscription.channels.contains(event.channel) && event.isVisible(to: subscription.level) {
                subscription.deliver(event)
            }
        }
    }

    public func finishAll(_ reason: SubscriptionEnd) {
        for subscription in subscriptions.values { subscription.finish(reason) }
        subscriptions.removeAll()
    }

    private func endSessions(of event: StoredEvent) {
        guard event.type == "session:revoked", case .object(let data)? = JSONValue.parse(event.dataJSON),
            let text = data["session_id"]?.stringValue, let sessionID = UUID(uuidString: text)
        else { return }
        for subscription in subscriptions.values where subscription.sessionID == sessionID {
            subscription.finish(.sessionEnded)
            subscriptions[subscription.id] = nil
        }
    }
}
