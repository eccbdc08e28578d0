import Foundation
import Logging
import PostgresNIO

public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The numbered `NNNN_name.sql` files shipped in the library's resources, in order.
    public static func bundled() throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil, subdirectory: "Resources") else {
            throw AppError(.internalError, "Les migrations sont introuvables dans l'installation.")
        }
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
        return try files.map { file in
            let base = file.deletingPathExtension().lastPathComponent
            guard let version = Int(base.prefix(while: \.isNumber)) else {
                throw AppError(.internalError, "Migration mal nommée : \(file.lastPathComponent)")
            }
            return Migration(version: version, name: base, sql: try String(contentsOf: file, encoding: .utf8))
        }.sorted { $0.version < $1.version }
    }
}

/// Applies pending migrations in order, each in its own transaction, recorded in `schema_migrations`.
/// A session-level advisory lock makes instances that start together take turns instead of colliding.
public struct MigrationRunner: Sendable {
    static let advisoryLockKey: Int64 = 0x5749_4449_505F_4D47  // "WIDIP_MG"

    let client: PostgresClient
    let migrations: [Migration]
    let logger: Logger

    public init(client: PostgresClient, migrations: [Migration], logger: Logger) {
        self.client = client
        self.migrations = migrations
        self.logger = logger
    }

    /// Returns the versions applied by this call (empty when the database was already up to date).
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.advisoryLockKey))", logger: logger)
            do {
                let applied = try await applyPending(on: connection)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
                throw error
            }
        }
    }

    private func applyPending(on connection: PostgresConnection) async throws -> [Int] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
            )
            """,
            logger: logger
        )
        var done = Set<Int>()
        for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
            done.insert(version)
        }
        var applied: [Int] = []
        for migration in migrations where !done.contains(migration.version) {
            logger.info("Applying migration", metadata: ["migration": "\(migration.name)"])
            do {
                try await connection.withTransaction(logger: logger) { transaction in
                    for statement in SQLScript.statements(migration.sql) {
                        try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await transaction.query(
                        "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                        logger: logger
                    )
                }
            } catch let error as PostgresTransactionError {
                // The operator needs the server's own words (which table, which names), not a wrapper type.
                let cause = (error.closureError as? PSQLError)?.serverInfo?[.message] ?? "\(String(reflecting: error.closureError ?? error))"
                throw AppError(.internalError, code: "migration_failed", "La migration \(migration.name) a échoué et a été annulée : \(cause)")
            }
            applied.append(migration.version)
        }
        return applied
    }
}
