import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Each instance's one listening connection. On every notification, and every time it (re)connects, it reads the
/// rows after its cursor, so nothing is lost while it was away or while Postgres restarted.
public struct EventListener: Service {
    public static let notificationChannel = "widip_events"

    let database: DatabaseURL
    let repository: EventRepository
    let hub: EventHub
    let logger: Logger

    public init(database: DatabaseURL, repository: EventRepository, hub: EventHub, logger: Logger) {
        self.database = database
        self.repository = repository
        self.hub = hub
        self.logger = logger
    }

    public func run() async throws {
        let cursor = Cursor()
        await database.listenUntilShutdown(channel: Self.notificationChannel, applicationName: "widip-listener", logger: logger) { notifications in
            // A burst of notifications is one read: the signal holds at most one pending wake-up.
            let (wakeUps, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    defer { wake.finish() }
                    for try await _ in notifications { wake.yield() }
                }
                // Listening now: whatever committed before is read here, whatever commits after is announced.
                var position = try await startingPoint(cursor.position.withLock { $0 })
                position = try await catchUp(from: position)
                cursor.position.withLock { $0 = position }
                for await _ in wakeUps {
                    position = try await catchUp(from: position)
                    cursor.position.withLock { $0 = position }
                }
                try await group.waitForAll()
            }
        }
        await hub.finishAll(.shuttingDown)
    }

    /// Where reading stands, kept across reconnections.
    final class Cursor: Sendable {
        let position = Mutex<Int64?>(nil)
    }

    private func startingPoint(_ cursor: Int64?) async throws -> Int64 {
        if let cursor { return cursor }
        // Where the server started (set once migrations ran, before the first client could subscribe): a listener
        // that connects late must still deliver everything committed since then.
        return await hub.startingPoint()
    }

    private func catchUp(from cursor: Int64) async throws -> Int64 {
        var position = cursor
        while true {
            let events = try await repository.events(after: position, limit: 1000)
            guard let last = events.last else { return position }
            await hub.dispatch(events)
            position = last.id
            if events.count < 1000 { return position }
        }
    }
}
