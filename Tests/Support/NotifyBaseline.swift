import Logging
import PostgresNIO
import WidipApp

/// The floor every figure is compared with: a raw `pg_notify` round trip between two connections on `database`.
public func rawNotifyRoundTrip(database: DatabaseURL, logger: Logger) async throws -> Figures {
    let configuration = PostgresConnection.Configuration(
        host: database.host, port: database.port, username: database.username, password: database.password, database: database.database, tls: .disable
    )
    let listener = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
    let sender = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger)
    defer {
        Task { try? await listener.close(); try? await sender.close() }
    }
    return try await listener.listen(on: "bench_baseline") { notifications in
        var iterator = notifications.makeAsyncIterator()
        var figures = Figures()
        for index in 0..<520 {
            let start = ContinuousClock.now
            try await sender.query("SELECT pg_notify('bench_baseline', \(String(index)))", logger: logger)
            _ = try await iterator.next()
            if index >= 20 { figures.add(ContinuousClock.now - start) }
        }
        return figures
    }
}
