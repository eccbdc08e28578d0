import Foundation
import Logging
import PostgresNIO

/// Calls and success rate of one tool over a window.
public struct ToolCallStats: Sendable, Equatable {
    /// Calls sent to the MCP server; refusals are not among them.
    public var calls: Int
    public var successes: Int
    /// Calls the tool answered with an error (`isError`): failed calls, among `failures`.
    public var toolErrors: Int
    /// Calls refused before reaching the server (rights, missing approval).
    public var refused: Int
    public var p50Milliseconds: Double?
    public var lastCallAt: Date?

    public static let none = ToolCallStats(calls: 0, successes: 0, toolErrors: 0, refused: 0)

    init(calls: Int, successes: Int, toolErrors: Int, refused: Int, p50Milliseconds: Double? = nil, lastCallAt: Date? = nil) {
        self.calls = calls
        self.successes = successes
        self.toolErrors = toolErrors
        self.refused = refused
        self.p50Milliseconds = p50Milliseconds
        self.lastCallAt = lastCallAt
    }

    /// Every call that did not succeed: tool errors, time-outs, unreachable server, protocol errors, cancellations.
    public var failures: Int { calls - successes }

    /// The PRD's "appels MCP réussis" (8.3): a call whose tool answered an error did not succeed.
    public var successRate: Double? { calls == 0 ? nil : Double(successes) / Double(calls) }
}

/// SQL of `mcp_tool_calls`.
struct ToolCallRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    func record(tool: String, level: ToolLevel, caller: ToolCaller, outcome: ToolCallOutcome, duration: Duration) async throws {
        let milliseconds = duration.milliseconds
        try await client.query(
            """
            INSERT INTO mcp_tool_calls (tool, level, user_id, caller, outcome, duration_ms)
            VALUES (\(tool), \(Int16(level.rawValue)), \(caller.userID), \(caller.name), \(outcome.rawValue), \(milliseconds))
            """,
            logger: logger
        )
    }

    func stats(since: Date) async throws -> [String: ToolCallStats] {
        let rows = try await client.query(
            """
            SELECT tool, count(*) FILTER (WHERE outcome <> 'refused')::int8,
                   count(*) FILTER (WHERE outcome = 'success')::int8,
                   count(*) FILTER (WHERE outcome = 'tool_error')::int8,
                   count(*) FILTER (WHERE outcome = 'refused')::int8,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE outcome <> 'refused')::float8,
                   max(created_at) FILTER (WHERE outcome <> 'refused')
            FROM mcp_tool_calls WHERE created_at >= \(since)
            GROUP BY tool
            """,
            logger: logger
        )
        var stats: [String: ToolCallStats] = [:]
        for try await (tool, calls, successes, toolErrors, refused, p50, last) in rows.decode((String, Int64, Int64, Int64, Int64, Double?, Date?).self) {
            stats[tool] = ToolCallStats(
                calls: Int(calls), successes: Int(successes), toolErrors: Int(toolErrors), refused: Int(refused), p50Milliseconds: p50, lastCallAt: last
            )
        }
        return stats
    }

    func prune(olderThan age: Duration) async throws {
        let cutoff = Date().addingTimeInterval(-Double(age.components.seconds))
        try await client.query("DELETE FROM mcp_tool_calls WHERE created_at < \(cutoff)", logger: logger)
    }
}
