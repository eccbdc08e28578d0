import Foundation
import Logging
import PostgresNIO

/// SQL of `user_audit_log`. Writes take the caller's connection so the row commits with the change it describes.
public struct AuditRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The `audit:new_entry` event for the live viewer is not written here: the trigger `user_audit_log_event`
    /// (migration 0002_events.sql) publishes one for every row, including rows Phase 1 writes directly.
    public func record(_ entry: AuditEntry, on connection: PostgresConnection) async throws {
        let details = entry.details?.jsonText
        try await connection.query(
            """
            INSERT INTO user_audit_log (user_id, action, target_type, target_id, details, ip_address, user_agent, created_at)
            VALUES (\(entry.userID), \(entry.action), \(entry.targetType), \(entry.targetID), \(details)::jsonb,
                    \(entry.client.ipAddress), \(entry.client.userAgent), NOW() AT TIME ZONE 'UTC')
            """,
            logger: logger
        )
    }

    /// Writes an entry in a transaction of its own (for events with no other state change, e.g. a failed login).
    public func record(_ entry: AuditEntry) async throws {
        try await client.withConnection { connection in try await record(entry, on: connection) }
    }

    /// Records an attempt that is refused in bulk (a blocked login) as one row per action, source address and target per
    /// `window`: the first attempt writes the row (and its live event), later ones add to its `count` and move its
    /// `last_at`. An attack shows as one line with its size, and the log grows with time, not with the attacker's rate.
    public func recordRepeated(_ entry: AuditEntry, window: Duration) async throws {
        let key = [entry.action, entry.client.ipAddress ?? "", entry.targetType ?? "", entry.targetID ?? ""].joined(separator: "\u{1F}")
        let windowSeconds = Double(window.components.seconds)
        try await client.transaction(logger: logger) { connection in
            // Writers of the same key wait for each other, so two concurrent attempts cannot both start a row.
            try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(key), 0))", logger: logger)
            let updated = try await connection.query(
                """
                UPDATE user_audit_log
                SET details = COALESCE(details, '{}'::jsonb)
                    || jsonb_build_object('count', COALESCE((details->>'count')::int, 1) + 1,
                                          'last_at', to_char(NOW() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
                WHERE id = (
                    SELECT id FROM user_audit_log
                    WHERE action = \(entry.action) AND target_type IS NOT DISTINCT FROM \(entry.targetType)
                      AND target_id IS NOT DISTINCT FROM \(entry.targetID) AND ip_address IS NOT DISTINCT FROM \(entry.client.ipAddress)
                      AND created_at > (NOW() AT TIME ZONE 'UTC') - make_interval(secs => \(windowSeconds))
                    ORDER BY id DESC LIMIT 1)
                RETURNING id
                """,
                logger: logger
            )
            var found = false
            for try await _ in updated.decode(Int.self) { found = true }
            guard !found else { return }
            var first = entry
            var details = entry.details?.objectValue ?? [:]
            details["count"] = 1
            first.details = .object(details)
            try await record(first, on: connection)
        }
    }

    /// Newest first; `filter.before` pages backwards by id, `filter.after` reads what came since.
    public func list(_ filter: AuditFilter) async throws -> [AuditRecord] {
        let rows = try await client.query(
            """
            SELECT a.id, a.user_id, u.username, a.action, a.target_type, a.target_id, a.details::text,
                   a.ip_address, a.user_agent, a.created_at
            FROM user_audit_log a LEFT JOIN users u ON u.id = a.user_id
            WHERE (\(filter.userID)::int IS NULL OR a.user_id = \(filter.userID))
              AND (\(filter.action)::text IS NULL OR a.action = \(filter.action))
              AND (\(filter.targetType)::text IS NULL OR a.target_type = \(filter.targetType))
              AND (\(filter.targetID)::text IS NULL OR a.target_id = \(filter.targetID))
              AND (\(filter.from)::timestamptz IS NULL OR a.created_at >= (\(filter.from)::timestamptz AT TIME ZONE 'UTC'))
              AND (\(filter.to)::timestamptz IS NULL OR a.created_at < (\(filter.to)::timestamptz AT TIME ZONE 'UTC'))
              AND (\(filter.before)::int IS NULL OR a.id < \(filter.before))
              AND (\(filter.after)::int IS NULL OR a.id > \(filter.after))
            ORDER BY a.id DESC
            LIMIT \(filter.limit)
            """,
            logger: logger
        )
        var records: [AuditRecord] = []
        for try await (id, userID, username, action, targetType, targetID, details, ip, agent, createdAt) in rows.decode(
            (Int, Int?, String?, String, String?, String?, String?, String?, String?, Date).self
        ) {
            records.append(
                AuditRecord(
                    id: id, userID: userID, username: username, action: action, targetType: targetType, targetID: targetID,
                    details: details.flatMap(JSONValue.parse), ipAddress: ip, userAgent: agent, createdAt: createdAt
                )
            )
        }
        return records
    }

    /// The distinct actions recorded so far, for the viewer's filter.
    public func actions() async throws -> [String] {
        var actions: [String] = []
        for try await action in try await client.query("SELECT DISTINCT action FROM user_audit_log ORDER BY action", logger: logger).decode(String.self) {
            actions.append(action)
        }
        return actions
    }
}
