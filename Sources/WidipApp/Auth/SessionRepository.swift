import Foundation
import Logging
import PostgresNIO

/// SQL of `sessions`: one row per issued token, so a logout is seen by every instance sharing the database.
public struct SessionRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func insert(id: UUID, userID: Int, expiresAt: Date, client info: ClientInfo, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO sessions (jti, user_id, expires_at, ip_address, user_agent)
            VALUES (\(id), \(userID), \(expiresAt), \(info.ipAddress), \(info.userAgent))
            """,
            logger: logger
        )
    }

    /// The user behind a live session: not revoked, not expired, and still active.
    public func activeUser(sessionID: UUID) async throws -> (User, expiresAt: Date)? {
        let rows = try await client.query(
            """
            SELECT u.id, u.username, u.role, u.accreditation_level, u.token_quota, u.active, u.last_login_at, u.created_at, u.updated_at,
                   s.expires_at
            FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.jti = \(sessionID) AND s.revoked_at IS NULL AND s.expires_at > NOW() AND u.active
            """,
            logger: logger
        )
        for try await row in rows.decode((Int, String, String?, String, Int, Bool, Date?, Date, Date, Date).self) {
            return (UserRepository.user((row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8)), row.9)
        }
        return nil
    }

    public func revoke(sessionID: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE sessions SET revoked_at = NOW() WHERE jti = \(sessionID) AND revoked_at IS NULL", logger: logger)
    }

    /// Revokes every live session of a user, except `keeping` when given; returns how many were revoked.
    @discardableResult
    public func revokeAll(userID: Int, keeping: UUID? = nil, on connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query(
            """
            UPDATE sessions SET revoked_at = NOW()
            WHERE user_id = \(userID) AND revoked_at IS NULL AND expires_at > NOW() AND (\(keeping)::uuid IS NULL OR jti <> \(keeping))
            RETURNING jti
            """,
            logger: logger
        )
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    /// Deletes sessions that expired more than a day ago (safe to run from several instances at once).
    public func pruneExpired() async throws {
        try await client.query("DELETE FROM sessions WHERE expires_at < NOW() - INTERVAL '1 day'", logger: logger)
    }
}
