import Foundation
import Logging
import PostgresNIO

/// SQL of `events`. Publishing takes the caller's connection: the event commits, or not, with the change it reports.
public struct EventRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    @discardableResult
    public func publish(channel: EventChannel, type: String, data: JSONValue, minimumLevel: AccreditationLevel = .n0, on connection: PostgresConnection) async throws -> Int64 {
        let rows = try await connection.query(
            """
            INSERT INTO events (channel, type, data, min_level)
            VALUES (\(channel.rawValue), \(type), \(data.jsonText)::jsonb, \(minimumLevel.rawValue))
            RETURNING id
            """,
            logger: logger
        )
        for try await id in rows.decode(Int64.self) { return id }
        throw AppError.internalFailure
    }

    /// Events after `id`, oldest first. Ids follow commit order (see migration 0002), so nothing committed later
    /// can appear before `id`.
    public func events(after id: Int64, channels: [String]? = nil, limit: Int) async throws -> [StoredEvent] {
        let rows = try await client.query(
            """
            SELECT id, channel, type, min_level, data::text, created_at FROM events
            WHERE id > \(id) AND (\(channels)::text[] IS NULL OR channel = ANY(\(channels)::text[]))
            ORDER BY id LIMIT \(limit)
            """,
            logger: logger
        )
        var events: [StoredEvent] = []
        for try await (id, channel, type, level, data, createdAt) in rows.decode((Int64, String, String, String, String, Date).self) {
            events.append(
                StoredEvent(id: id, channel: channel, type: type, minimumLevel: AccreditationLevel(rawValue: level) ?? .n4, dataJSON: data, createdAt: createdAt)
            )
        }
        return events
    }

    /// The newest event id (0 when there is none): where a fresh listener starts.
    public func latestID() async throws -> Int64 {
        for try await id in try await client.query("SELECT COALESCE(MAX(id), 0)::int8 FROM events", logger: logger).decode(Int64.self) {
            return id
        }
        return 0
    }

    /// The highest id retention removed: resuming from before it cannot be exact.
    public func prunedThrough() async throws -> Int64 {
        for try await id in try await client.query("SELECT pruned_through FROM event_retention", logger: logger).decode(Int64.self) {
            return id
        }
        return 0
    }

    /// Deletes events older than `age`; safe with several instances (the retention row serialises them).
    @discardableResult
    public func prune(olderThan age: Duration) async throws -> Int {
        let seconds = Double(age.components.seconds)
        return try await client.transaction(logger: logger) { connection in
            try await connection.query("SELECT pruned_through FROM event_retention FOR UPDATE", logger: logger)
            let rows = try await connection.query(
                """
                WITH gone AS (DELETE FROM events WHERE created_at < NOW() - make_interval(secs => \(seconds)) RETURNING id)
                SELECT COUNT(*)::int, COALESCE(MAX(id), 0)::int8 FROM gone
                """,
                logger: logger
            )
            var removed = 0
            for try await (count, highest) in rows.decode((Int, Int64).self) where count > 0 {
                removed = count
                try await connection.query("UPDATE event_retention SET pruned_through = GREATEST(pruned_through, \(highest))", logger: logger)
            }
            return removed
        }
    }
}
