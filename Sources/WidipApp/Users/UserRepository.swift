import Foundation
import Logging
import PostgresNIO

/// SQL of `users`. Methods taking a connection run inside the caller's transaction.
public struct UserRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns: PostgresQuery = "id, username, role, accreditation_level, token_quota, active, last_login_at, created_at, updated_at"

    typealias Row = (Int, String, String?, String, Int, Bool, Date?, Date, Date)

    static func user(_ row: Row) -> User {
        User(
            id: row.0, username: row.1, role: row.2 ?? "tech", level: AccreditationLevel(rawValue: row.3) ?? .n0, tokenQuota: row.4,
            active: row.5, lastLoginAt: row.6, createdAt: row.7, updatedAt: row.8
        )
    }

    private func users(_ rows: PostgresRowSequence) async throws -> [User] {
        var result: [User] = []
        for try await row in rows.decode(Row.self) { result.append(Self.user(row)) }
        return result
    }

    public func list(search: String?) async throws -> [User] {
        let pattern = search.map { "%" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%" }
        return try await users(
            client.query(
                """
                SELECT id, username, role, accreditation_level, token_quota, active, last_login_at, created_at, updated_at
                FROM users
                WHERE \(pattern)::text IS NULL OR username ILIKE \(pattern) OR role ILIKE \(pattern)
                ORDER BY active DESC, lower(username)
                """,
                logger: logger
            )
        )
    }

    public func find(id: Int) async throws -> User? {
        try await users(
            client.query(
                "SELECT id, username, role, accreditation_level, token_quota, active, last_login_at, created_at, updated_at FROM users WHERE id = \(id)",
                logger: logger
            )
        ).first
    }

    public func find(id: Int, lockingOn connection: PostgresConnection) async throws -> User? {
        try await users(
            connection.query(
                "SELECT id, username, role, accreditation_level, token_quota, active, last_login_at, created_at, updated_at FROM users WHERE id = \(id) FOR UPDATE",
                logger: logger
            )
        ).first
    }

    /// The user and its stored password (hash, or plaintext for a Phase 1 row not yet converted).
    public func credentials(username: String) async throws -> (User, String)? {
        let rows = try await client.query(
            """
            SELECT id, username, role, accreditation_level, token_quota, active, last_login_at, created_at, updated_at, password
            FROM users WHERE lower(username) = lower(\(username))
            """,
            logger: logger
        )
        for try await row in rows.decode((Int, String, String?, String, Int, Bool, Date?, Date, Date, String).self) {
            return (Self.user((row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8)), row.9)
        }
        return nil
    }

    public func password(userID: Int, on connection: PostgresConnection) async throws -> String? {
        for try await password in try await connection.query("SELECT password FROM users WHERE id = \(userID)", logger: logger).decode(String.self) {
            return password
        }
        return nil
    }

    /// The stored password and active flag, locked until the end of the transaction.
    public func lockCredentials(userID: Int, on connection: PostgresConnection) async throws -> (password: String, active: Bool)? {
        let rows = try await connection.query("SELECT password, active FROM users WHERE id = \(userID) FOR UPDATE", logger: logger)
        for try await (password, active) in rows.decode((String, Bool).self) { return (password, active) }
        return nil
    }

    public func usernameTaken(_ username: String, excluding id: Int?, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            "SELECT 1 FROM users WHERE lower(username) = lower(\(username)) AND (\(id)::int IS NULL OR id <> \(id))",
            logger: logger
        )
        for try await _ in rows { return true }
        return false
    }

    public func insert(
        username: String, passwordHash: String, role: String, level: AccreditationLevel, tokenQuota: Int, active: Bool,
        on connection: PostgresConnection
    ) async throws -> User {
        let rows = try await connection.query(
            """
            INSERT INTO users (username, password, role, accreditation_level, token_quota, active)
            VALUES (\(username), \(passwordHash), \(role), \(level.rawValue), \(tokenQuota), \(active))
            RETURNING id, username, role, accreditation_level, token_quota, active, last_login_at, created_at, updated_at
            """,
            logger: logger
        )
        guard let user = try await users(rows).first else { throw AppError.internalFailure }
        return user
    }

    public func update(_ user: User, on connection: PostgresConnection) async throws -> User {
        let rows = try await connection.query(
            """
            UPDATE users SET username = \(user.username), role = \(user.role), accreditation_level = \(user.level.rawValue),
                token_quota = \(user.tokenQuota), active = \(user.active), updated_at = NOW()
            WHERE id = \(user.id)
            RETURNING id, username, role, accreditation_level, token_quota, active, last_login_at, created_at, updated_at
            """,
            logger: logger
        )
        guard let updated = try await users(rows).first else { throw AppError(.notFound, "Utilisateur introuvable.") }
        return updated
    }

    public func setPassword(userID: Int, hash: String, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE users SET password = \(hash), updated_at = NOW() WHERE id = \(userID)", logger: logger)
    }

    public func recordLogin(userID: Int, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE users SET last_login_at = NOW() WHERE id = \(userID)", logger: logger)
    }

    /// Ids of the active N4 users, locked until the end of the transaction so two concurrent demotions cannot both
    /// believe another super admin remains.
    public func lockActiveSuperAdmins(on connection: PostgresConnection) async throws -> [Int] {
        var ids: [Int] = []
        let rows = try await connection.query(
            "SELECT id FROM users WHERE accreditation_level = 'N4' AND active ORDER BY id FOR UPDATE",
            logger: logger
        )
        for try await id in rows.decode(Int.self) { ids.append(id) }
        return ids
    }

    public func hasActiveSuperAdmin() async throws -> Bool {
        for try await _ in try await client.query("SELECT 1 FROM users WHERE accreditation_level = 'N4' AND active LIMIT 1", logger: logger) {
            return true
        }
        return false
    }

    /// Rows whose `password` column still holds a Phase 1 plaintext password.
    public func legacyPasswords(limit: Int) async throws -> [(id: Int, password: String)] {
        var result: [(Int, String)] = []
        let rows = try await client.query(
            "SELECT id, password FROM users WHERE password !~ \(PasswordHasher.bcryptPattern) ORDER BY id LIMIT \(limit)",
            logger: logger
        )
        for try await (id, password) in rows.decode((Int, String).self) { result.append((id, password)) }
        return result.map { (id: $0.0, password: $0.1) }
    }

    /// Replaces a stored password (a plaintext, or a hash of another cost or flavour) by a new hash, unless someone
    /// changed it in the meantime.
    public func replacePassword(userID: Int, expected: String, hash: String, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            "UPDATE users SET password = \(hash), updated_at = NOW() WHERE id = \(userID) AND password = \(expected) RETURNING id",
            logger: logger
        )
        for try await _ in rows { return true }
        return false
    }
}
