import Foundation
import Logging
import PostgresNIO

/// One-minute windows counted in Postgres, so every instance behind a load balancer shares them. The previous
/// window still counts in proportion to how much of it the last minute covers (a sliding window), so a burst that
/// straddles a minute boundary is not allowed twice the limit.
public struct RateLimiter: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Counts one hit on `bucket`; throws a 429 `AppError` once more than `limit` hits fall in the last minute.
    public func hit(_ bucket: String, limit: Int) async throws {
        let rows = try await client.query(
            """
            WITH hit AS (
                INSERT INTO rate_limit_counters AS c (bucket, window_start, hits)
                VALUES (\(bucket), date_trunc('minute', NOW()), 1)
                ON CONFLICT (bucket, window_start) DO UPDATE SET hits = c.hits + 1
                RETURNING hits, window_start
            )
            SELECT hit.hits,
                   COALESCE((SELECT p.hits FROM rate_limit_counters p
                             WHERE p.bucket = \(bucket) AND p.window_start = hit.window_start - INTERVAL '1 minute'), 0),
                   EXTRACT(EPOCH FROM (NOW() - hit.window_start))::float8
            FROM hit
            """,
            logger: logger
        )
        for try await (current, previous, elapsed) in rows.decode((Int, Int, Double).self) {
            let inLastMinute = Double(current) + Double(previous) * max(0, 1 - elapsed / 60)
            if inLastMinute > Double(limit) {
                throw AppError.tooManyRequests(retryAfter: max(1, Int((60 - elapsed).rounded(.up))))
            }
        }
    }

    /// Drops finished windows (safe to run from several instances at once).
    public func prune() async throws {
        try await client.query("DELETE FROM rate_limit_counters WHERE window_start < NOW() - INTERVAL '2 minutes'", logger: logger)
    }
}
