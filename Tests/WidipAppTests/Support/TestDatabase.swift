import Foundation
import Logging
import PostgresNIO
import Testing
import WidipApp

/// Each test gets a database of its own on the cluster `./test` started (`WIDIP_TEST_DATABASE_URL`).
enum TestDatabase {
    static let logger = Logger(label: "widip-tests")

    static var serverURL: DatabaseURL {
        get throws {
            guard let text = ProcessInfo.processInfo.environment["WIDIP_TEST_DATABASE_URL"] else {
                throw TestSetupError("WIDIP_TEST_DATABASE_URL is not set: run the tests with ./test, which starts their PostgreSQL")
            }
            return try DatabaseURL(parsing: text)
        }
    }

    /// Creates an empty database, runs `body` with its address, and drops it afterwards.
    static func withFreshDatabase<Value>(_ body: (DatabaseURL) async throws -> Value) async throws -> Value {
        let server = try serverURL
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await execute("CREATE DATABASE \(name)", on: server)
        do {
            let value = try await body(server.with(database: name))
            try await execute("DROP DATABASE \(name) WITH (FORCE)", on: server)
            return value
        } catch {
            try? await execute("DROP DATABASE \(name) WITH (FORCE)", on: server)
            throw error
        }
    }

    /// The application's services on `database`, with their pool running (no server).
    static func withServices<Value: Sendable>(on database: DatabaseURL, _ body: @Sendable (AppServices) async throws -> Value) async throws -> Value {
        try await AppServices(config: testConfig(database: database), logger: logger).withDatabase(body)
    }

    /// Runs one statement on a short-lived connection (database creation cannot go through a pool's transaction).
    static func execute(_ sql: String, on url: DatabaseURL) async throws {
        try await withConnection(to: url) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        }
    }

    static func withConnection<Value>(to url: DatabaseURL, _ body: (PostgresConnection) async throws -> Value) async throws -> Value {
        let configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable
        )
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            let value = try await body(connection)
            try await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
