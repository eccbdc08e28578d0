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

    /// Where reading stands, kept across reconnections.
    final class Cursor: Sendable {
        let position = Mutex<Int64?>(nil)
        /// Set once a connection is listening, so the next failure starts again from a short delay.
        let listened = Mutex(false)
        let attempts = Mutex(0)
    }

    public func run() async throws {
        let cursor = Cursor()
        var backoff = Duration.milliseconds(100)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown {
                    try await listen(cursor: cursor)
                }
            } catch {
                if cursor.listened.withLock({ listened in defer { listened = false }; return listened }) { backoff = .milliseconds(100) }
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                logger.warning("Event listener disconnected; reconnecting", metadata: ["retry_in": "\(backoff)", "error": "\(String(reflecting: error))"])
            }
            let delay = backoff
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
            backoff = min(backoff * 2, .seconds(5))
        }
        await hub.finishAll(.shuttingDown)
    }

    private func listen(cursor: Cursor) async throws {
        let configuration = try database.connectionConfiguration(applicationName: "widip-listener")
        let attempt = cursor.attempts.withLock { value in
            value += 1
            return value
        }
        let connection = try await PostgresConnection.connect(configuration: configuration, id: attempt, logger: logger)
        do {
            try await connection.listen(on: Self.notificationChannel) { notifications in
                // A burst of notifications is one read: the signal holds at most one pending wake-up.
                let (wakeUps, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        defer { wake.finish() }
                        for try await _ in notifications { wake.yield() }
                    }
                    // Listening now: whatever committed before is read here, whatever commits after is announced.
                    cursor.listened.withLock { $0 = true }
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
            try? await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
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

extension DatabaseURL {
    /// A standalone connection (the listener's), outside the pool.
    func connectionConfiguration(applicationName: String) throws -> PostgresConnection.Configuration {
        let pool = clientConfiguration(poolSize: 1)
        let tls: PostgresConnection.Configuration.TLS =
            switch tlsMode {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls
        )
        configuration.options.additionalStartupParameters = pool.options.additionalStartupParameters.map { key, value in
            key == "application_name" ? (key, applicationName) : (key, value)
        }
        return configuration
    }
}
