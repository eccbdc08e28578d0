import Foundation
import Logging
import PostgresNIO

/// `safeguard_callbacks`: the outcomes waiting to reach the `callback_url` their workflow gave. The database queues
/// them (migration 0005, in the transaction of the outcome); this is where the sender claims and settles them.
struct CallbackQueue: Sendable {
    let client: PostgresClient
    let logger: Logger

    struct Due: Sendable {
        let id: Int64
        let url: String
        let payload: String
        let attempts: Int
        let workflow: String?
    }

    /// Up to `limit` callbacks that are due, claimed for a minute: another instance skips them meanwhile, and a crash
    /// only delays them. Each claim counts as an attempt.
    func claimDue(limit: Int = 20) async throws -> [Due] {
        let rows = try await client.query(
            """
            UPDATE safeguard_callbacks c SET attempts = attempts + 1, next_attempt_at = NOW() + INTERVAL '60 seconds'
            FROM safeguard_approvals a
            WHERE a.approval_id = c.approval_id AND c.id IN (
                SELECT id FROM safeguard_callbacks
                WHERE delivered_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= NOW()
                ORDER BY next_attempt_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
            )
            RETURNING c.id, c.url, c.payload::text, c.attempts, a.requester_name
            """,
            logger: logger
        )
        var due: [Due] = []
        for try await (id, url, payload, attempts, workflow) in rows.decode((Int64, String, String, Int, String?).self) {
            due.append(Due(id: id, url: url, payload: payload, attempts: attempts, workflow: workflow))
        }
        return due
    }

    /// When the next undelivered callback is due, if any.
    func nextDue() async throws -> Date? {
        let rows = try await client.query(
            "SELECT min(next_attempt_at) FROM safeguard_callbacks WHERE delivered_at IS NULL AND abandoned_at IS NULL", logger: logger
        )
        for try await date in rows.decode(Date?.self) { return date }
        return nil
    }

    /// Delivered when `failure` is nil; otherwise due again after `retryAfter`, or given up when `abandon`.
    func settle(_ id: Int64, failure: String?, abandon: Bool, retryAfter: Double) async throws {
        try await client.query(
            """
            UPDATE safeguard_callbacks
            SET delivered_at = CASE WHEN \(failure)::text IS NULL THEN NOW() END,
                abandoned_at = CASE WHEN \(abandon) THEN NOW() END,
                last_error = \(failure), next_attempt_at = NOW() + make_interval(secs => \(retryAfter))
            WHERE id = \(id)
            """,
            logger: logger
        )
    }
}
