import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

extension DatabaseURL {
    /// LISTENs on `channel` on a connection of its own and hands the notifications to `consume` each time it is
    /// listening, connecting again after any failure until shutdown: 100 ms after a failure, doubling up to 5 s, and
    /// back to 100 ms once a connection got as far as listening (a Postgres restart costs a short pause, a database
    /// that stays down is not hammered).
    func listenUntilShutdown(
        channel: String, applicationName: String, logger: Logger, _ consume: @escaping @Sendable (PostgresNotificationSequence) async throws -> Void
    ) async {
        var backoff = Duration.milliseconds(100)
        var attempt = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            attempt += 1
            let id = attempt
            let listened = Mutex(false)
            do {
                try await cancelWhenGracefulShutdown {
                    let connection = try await PostgresConnection.connect(
                        configuration: try connectionConfiguration(applicationName: applicationName), id: id, logger: logger
                    )
                    do {
                        try await connection.listen(on: channel) { notifications in
                            listened.withLock { $0 = true }
                            try await consume(notifications)
                        }
                        try? await connection.close()
                    } catch {
                        try? await connection.close()
                        throw error
                    }
                }
            } catch {
                if listened.withLock({ $0 }) { backoff = .milliseconds(100) }
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                logger.warning(
                    "Listener disconnected; reconnecting", metadata: ["channel": "\(channel)", "retry_in": "\(backoff)", "error": "\(String(reflecting: error))"]
                )
            }
            let delay = backoff
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
            backoff = min(backoff * 2, .seconds(5))
        }
    }

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
