import Foundation
import Logging
import PostgresNIO

/// Fixed one-minute windows counted in Postgres, so every instance behind a load balancer shares them.
public struct RateLimiter: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Counts one hit on `bucket`; throws a 429 `AppError` once `limit` hits were already counted this minute.
    public func hit(_ bucket: String, limit: Int) async throws {
        let rows = try await client.query(
            """
            INSERT INTO rate_limit_counters AS c (bucket, window_start, hits)
            VALUES (\(bucket), date_trunc('minute', NOW()), 1)
            ON CONFLICT (bucket, window_start) DO UPDATE SET hits = c.hits + 1
            RETURNING hits, CEIL(EXTRACT(EPOCH FROM (window_start + INTERVAL '1 minute' - NOW())))::int
            """,
            logger: logger
        )
        for try await (hits, secondsLeft) in rows.decode((Int, Int).self) where hits > limit {
            throw AppError.tooManyRequests(retryAfter: max(1, secondsLeft))
        }
    }

    /// Drops finished windows (safe to run from several instances at once).
    public func prune() async throws {
        try await client.query("DELETE FROM rate_limit_counters WHERE window_start < NOW() - INTERVAL '2 minutes'", logger: logger)
    }
}
