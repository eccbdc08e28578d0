import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Who waits on an answer's row on this instance (a page attached to an answer another instance writes, a stop
/// waiting for the saved end), woken when the row changes.
final class ChatWatchers: Sendable {
    private let watchers = Mutex<[UUID: [Int: WakeSignal]]>([:])
    private let nextKey = Atomic<Int>(0)

    /// Runs `body` with a signal woken each time the answer's row changes.
    func watching<Value: Sendable>(_ id: UUID, _ body: (WakeSignal) async throws -> Value) async rethrows -> Value {
        let signal = WakeSignal()
        let key = nextKey.add(1, ordering: .relaxed).newValue
        watchers.withLock { $0[id, default: [:]][key] = signal }
        defer {
            watchers.withLock { watchers in
                watchers[id]?.removeValue(forKey: key)
                if watchers[id]?.isEmpty == true { watchers.removeValue(forKey: id) }
            }
        }
        return try await body(signal)
    }

    private let closing = Atomic<Bool>(false)

    /// The server is stopping: long waits (a conversation's updates) end instead of holding the shutdown.
    var isClosing: Bool { closing.load(ordering: .relaxed) }

    func closeAll() {
        closing.store(true, ordering: .relaxed)
        let signals = watchers.withLock { $0.values.flatMap(\.values) }
        for signal in signals { signal.wake() }
    }

    func wake(_ id: UUID) {
        let signals = watchers.withLock { $0[id].map { Array($0.values) } ?? [] }
        for signal in signals { signal.wake() }
    }
}

/// Listens on `widip_chat` (migration 0006): a row of an answer being written changed (`<id>`), or somebody asked to
/// stop one (`stop:<id>`). The row stays the truth; the notification only says where to look.
struct ChatStreamListener: Service {
    static let channel = "widip_chat"

    let database: DatabaseURL
    let watchers: ChatWatchers
    let generations: ChatGenerations
    let logger: Logger

    func run() async throws {
        await database.listenUntilShutdown(channel: Self.channel, applicationName: "widip-chat-listener", logger: logger) { notifications in
            for try await notification in notifications { dispatch(notification.payload) }
        }
    }

    private func dispatch(_ payload: String) {
        if payload.hasPrefix("stop:") {
            if let id = UUID(uuidString: String(payload.dropFirst(5))) { generations.stop(id) }
        } else if let id = UUID(uuidString: payload) {
            watchers.wake(id)
        }
    }
}
