import Foundation
import Logging
import PostgresNIO

/// SQL of `safeguard_approvals` and its timeline. Writes take the caller's connection: a change, its timeline step
/// (hence its event, migration 0005) and its audit row commit together.
struct ApprovalRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }()

    // MARK: Reading

    private func requests(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> [ApprovalRequest] {
        let rows = if let connection { try await connection.query(query, logger: logger) } else { try await client.query(query, logger: logger) }
        var found: [ApprovalRequest] = []
        for try await text in rows.decode(String.self) {
            found.append(try Self.decoder.decode(ApprovalRequest.self, from: Data(text.utf8)))
        }
        return found
    }

    func request(_ id: String, on connection: PostgresConnection? = nil) async throws -> ApprovalRequest? {
        try await requests("SELECT to_jsonb(r)::text FROM safeguard_requests r WHERE approval_id = \(id)", on: connection).first
    }

    /// The request, its row locked until the transaction ends: decisions on one request happen one after the other.
    func lock(_ id: String, on connection: PostgresConnection) async throws -> ApprovalRequest? {
        try await connection.query("SELECT 1 FROM safeguard_approvals WHERE approval_id = \(id) FOR UPDATE", logger: logger)
        return try await request(id, on: connection)
    }

    func request(requester: String, idempotencyKey: String, on connection: PostgresConnection? = nil) async throws -> ApprovalRequest? {
        try await requests(
            "SELECT to_jsonb(r)::text FROM safeguard_requests r WHERE requester_name = \(requester) AND idempotency_key = \(idempotencyKey)", on: connection
        ).first
    }

    /// Pending requests, the soonest to expire first.
    func pending() async throws -> [ApprovalRequest] {
        try await requests("SELECT to_jsonb(r)::text FROM safeguard_requests r WHERE status = 'pending' ORDER BY expires_at, approval_id LIMIT 500")
    }

    func pendingCount() async throws -> Int {
        for try await count in try await client.query("SELECT count(*)::int FROM safeguard_approvals WHERE status = 'pending'", logger: logger).decode(Int.self) {
            return count
        }
        return 0
    }

    /// The history, newest first, with the number of rows the filter matches.
    func history(_ filter: ApprovalFilter) async throws -> (requests: [ApprovalRequest], total: Int) {
        let status = filter.status?.rawValue
        let tool = filter.tool
        let clientName = filter.client.map { "%" + Self.escapeLike($0) + "%" }
        let requester = filter.requester.map { "%" + Self.escapeLike($0) + "%" }
        let decider = filter.decider?.lowercased()
        let conditions: PostgresQuery = """
            SELECT to_jsonb(r)::text, count(*) OVER ()::int FROM safeguard_requests r
            WHERE (\(status)::text IS NULL OR status = \(status))
              AND (\(tool)::text IS NULL OR tool_name = \(tool))
              AND (\(clientName)::text IS NULL OR context->>'client_name' ILIKE \(clientName))
              AND (\(requester)::text IS NULL OR requester_name ILIKE \(requester))
              AND (\(decider)::text IS NULL OR lower(decided_by) = \(decider))
              AND (\(filter.from)::timestamptz IS NULL OR to_timestamp(created_at) >= \(filter.from))
              AND (\(filter.to)::timestamptz IS NULL OR to_timestamp(created_at) < \(filter.to))
            ORDER BY created_at DESC, approval_id DESC
            OFFSET \(filter.offset) LIMIT \(filter.limit)
            """
        var found: [ApprovalRequest] = []
        var total = 0
        for try await (text, count) in try await client.query(conditions, logger: logger).decode((String, Int).self) {
            found.append(try Self.decoder.decode(ApprovalRequest.self, from: Data(text.utf8)))
            total = count
        }
        if found.isEmpty && filter.offset > 0 {
            var first = filter
            first.offset = 0
            first.limit = 1
            total = try await history(first).total
        }
        return (found, total)
    }

    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    /// The tools that appear in requests, for the history's filter.
    func tools() async throws -> [String] {
        var tools: [String] = []
        for try await tool in try await client.query("SELECT DISTINCT tool_name FROM safeguard_approvals ORDER BY 1", logger: logger).decode(String.self) {
            tools.append(tool)
        }
        return tools
    }

    func timeline(_ id: String) async throws -> [TimelineStep] {
        let rows = try await client.query(
            """
            SELECT kind, actor_name, reason, details::text, ip_address, at FROM safeguard_timeline
            WHERE approval_id = \(id) ORDER BY at, id
            """,
            logger: logger
        )
        var steps: [TimelineStep] = []
        for try await (kind, actor, reason, details, ip, at) in rows.decode((String, String?, String?, String?, String?, Date).self) {
            steps.append(TimelineStep(kind: kind, actorName: actor, reason: reason, details: details.flatMap(JSONValue.parse), ipAddress: ip, at: at))
        }
        return steps
    }

    /// Counts over the requests created since `since`; days are those of `timeZone`.
    func stats(since: Date, timeZone: TimeZone) async throws -> ApprovalStats {
        var stats = ApprovalStats()
        let totals = try await client.query(
            """
            SELECT count(*)::int,
                   count(*) FILTER (WHERE status IN ('approved', 'executing', 'executed', 'failed'))::int,
                   count(*) FILTER (WHERE status = 'rejected')::int,
                   count(*) FILTER (WHERE status = 'expired')::int,
                   count(*) FILTER (WHERE status = 'pending')::int,
                   count(*) FILTER (WHERE status = 'executed')::int,
                   count(*) FILTER (WHERE status = 'failed')::int,
                   (avg(extract(epoch FROM decided_at - created_at)) FILTER (WHERE decided_at IS NOT NULL))::float8
            FROM safeguard_approvals WHERE created_at >= \(since)
            """,
            logger: logger
        )
        for try await row in totals.decode((Int, Int, Int, Int, Int, Int, Int, Double?).self) {
            (stats.total, stats.approved, stats.rejected, stats.expired, stats.pending, stats.executed, stats.failed, stats.averageDecisionSeconds) = row
        }
        let tools = try await client.query(
            """
            SELECT tool_name, count(*)::int FROM safeguard_approvals WHERE created_at >= \(since)
            GROUP BY tool_name ORDER BY 2 DESC, 1 LIMIT 5
            """,
            logger: logger
        )
        for try await (tool, count) in tools.decode((String, Int).self) { stats.topTools.append((tool, count)) }
        let zone = timeZone.identifier
        let days = try await client.query(
            """
            SELECT to_char(day, 'YYYY-MM-DD'), (SELECT count(*)::int FROM safeguard_approvals
                WHERE created_at >= \(since) AND (created_at AT TIME ZONE \(zone))::date = day::date)
            FROM generate_series((\(since)::timestamptz AT TIME ZONE \(zone))::date, (NOW() AT TIME ZONE \(zone))::date, INTERVAL '1 day') AS day
            ORDER BY day
            """,
            logger: logger
        )
        for try await (day, count) in days.decode((String, Int).self) { stats.perDay.append((day, count)) }
        return stats
    }

    // MARK: Writing

    /// Inserts a request; the database gives it its readable id and its first timeline step. With an idempotency key
    /// already used by this requester, nothing is inserted and `created` is false.
    func insert(
        _ new: NewApprovalRequest, level: ToolLevel, approvalsRequired: Int, expiresAt: Date, impact: JSONValue?, on connection: PostgresConnection
    ) async throws -> (id: String, created: Bool) {
        let arguments = JSONValue.object(new.arguments).jsonText
        let context = JSONValue.object(new.context).jsonText
        let rows = try await connection.query(
            """
            INSERT INTO safeguard_approvals (
                tool_name, arguments, security_level, context, status, expires_at, requester_type, requester_name, requester_user_id,
                conversation_id, idempotency_key, callback_url, execution_mode, approvals_required, impact_before
            ) VALUES (
                \(new.tool), \(arguments)::jsonb, \(level.label), \(context)::jsonb, 'pending', \(expiresAt), \(new.requester.type),
                \(new.requester.name), \(new.requester.userID), \(new.conversationID), \(new.idempotencyKey), \(new.callbackURL),
                \(new.executionMode.rawValue), \(approvalsRequired), \(impact?.jsonText)::jsonb
            )
            ON CONFLICT (requester_name, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING approval_id
            """,
            logger: logger
        )
        for try await id in rows.decode(String.self) { return (id, true) }
        guard let key = new.idempotencyKey, let existing = try await request(requester: new.requester.name, idempotencyKey: key, on: connection) else {
            throw AppError.internalFailure
        }
        return (existing.approvalID, false)
    }

    /// Adds a step to the timeline, after the change it reports (its event carries the request as changed).
    func addStep(
        _ id: String, _ kind: String, actorID: Int? = nil, actorName: String?, reason: String? = nil, details: JSONValue? = nil, ipAddress: String? = nil,
        on connection: PostgresConnection
    ) async throws {
        try await connection.query(
            """
            INSERT INTO safeguard_timeline (approval_id, kind, actor_user_id, actor_name, reason, details, ip_address)
            VALUES (\(id), \(kind), \(actorID), \(actorName), \(reason), \(details?.jsonText)::jsonb, \(ipAddress))
            """,
            logger: logger
        )
    }

    /// The people who already approved (four eyes), from the timeline.
    func approvers(_ id: String, on connection: PostgresConnection) async throws -> [Int] {
        var ids: [Int] = []
        let rows = try await connection.query(
            "SELECT actor_user_id FROM safeguard_timeline WHERE approval_id = \(id) AND kind IN ('approval_added', 'approved') AND actor_user_id IS NOT NULL",
            logger: logger
        )
        for try await userID in rows.decode(Int.self) { ids.append(userID) }
        return ids
    }

    func recordApproval(_ id: String, count: Int, on connection: PostgresConnection) async throws {
        try await connection.query(
            "UPDATE safeguard_approvals SET approvals_count = \(count), updated_at = NOW() WHERE approval_id = \(id)", logger: logger
        )
    }

    /// The final decision: approved or rejected, by whom and why.
    func decide(_ id: String, status: ApprovalStatus, deciderID: Int, reason: String?, approvalsCount: Int, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE safeguard_approvals
            SET status = \(status.rawValue), decided_at = NOW(), decided_by = \(deciderID), decision_reason = \(reason),
                approvals_count = \(approvalsCount), updated_at = NOW()
            WHERE approval_id = \(id)
            """,
            logger: logger
        )
    }

    /// Pushes the expiry back; the request can be escalated again as its new end nears.
    func postpone(_ id: String, by step: Duration, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE safeguard_approvals
            SET expires_at = expires_at + make_interval(secs => \(Double(step.components.seconds))), postpone_count = postpone_count + 1,
                escalated_at = NULL, updated_at = NOW()
            WHERE approval_id = \(id)
            """,
            logger: logger
        )
    }

    func setStatus(_ id: String, _ status: ApprovalStatus, on connection: PostgresConnection) async throws {
        try await connection.query(
            "UPDATE safeguard_approvals SET status = \(status.rawValue), updated_at = NOW() WHERE approval_id = \(id)", logger: logger
        )
    }

    /// Pending requests past their expiry, and approvals left to their requester past the execution window, locked;
    /// rows another instance is handling are skipped.
    func dueForExpiry(executionWindow: Duration, on connection: PostgresConnection) async throws -> [String] {
        let window = Double(executionWindow.components.seconds)
        var ids: [String] = []
        let rows = try await connection.query(
            """
            SELECT approval_id FROM safeguard_approvals
            WHERE (status = 'pending' AND expires_at <= NOW())
               OR (status = 'approved' AND execution_mode = 'requester' AND decided_at + make_interval(secs => \(window)) <= NOW())
            ORDER BY expires_at LIMIT 100
            FOR UPDATE SKIP LOCKED
            """,
            logger: logger
        )
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    /// Pending requests with less than `lead` left that were not escalated yet, locked.
    func dueForEscalation(lead: Duration, on connection: PostgresConnection) async throws -> [String] {
        var ids: [String] = []
        let rows = try await connection.query(
            """
            SELECT approval_id FROM safeguard_approvals
            WHERE status = 'pending' AND escalated_at IS NULL AND expires_at > NOW()
              AND expires_at <= NOW() + make_interval(secs => \(Double(lead.components.seconds)))
            ORDER BY expires_at LIMIT 100
            FOR UPDATE SKIP LOCKED
            """,
            logger: logger
        )
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    func markEscalated(_ id: String, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE safeguard_approvals SET escalated_at = NOW(), updated_at = NOW() WHERE approval_id = \(id)", logger: logger)
    }

    /// The soonest moment the clock has something to do: an expiry, an escalation, or the end of an execution window.
    func nextDeadline(escalationLead: Duration, executionWindow: Duration) async throws -> Date? {
        let lead = Double(escalationLead.components.seconds)
        let window = Double(executionWindow.components.seconds)
        let rows = try await client.query(
            """
            SELECT LEAST(
                (SELECT min(CASE WHEN escalated_at IS NULL AND \(lead) > 0 THEN expires_at - make_interval(secs => \(lead)) ELSE expires_at END)
                 FROM safeguard_approvals WHERE status = 'pending'),
                (SELECT min(decided_at + make_interval(secs => \(window)))
                 FROM safeguard_approvals WHERE status = 'approved' AND execution_mode = 'requester')
            )
            """,
            logger: logger
        )
        for try await deadline in rows.decode(Date?.self) { return deadline }
        return nil
    }

    // MARK: Execution

    /// Approved requests SAFEGUARD runs itself, ready now.
    func readyToExecute() async throws -> [String] {
        var ids: [String] = []
        let rows = try await client.query(
            """
            SELECT approval_id FROM safeguard_approvals
            WHERE status = 'approved' AND execution_mode = 'platform' AND (next_attempt_at IS NULL OR next_attempt_at <= NOW())
            ORDER BY decided_at LIMIT 20
            """,
            logger: logger
        )
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    func executing() async throws -> [String] {
        var ids: [String] = []
        for try await id in try await client.query("SELECT approval_id FROM safeguard_approvals WHERE status = 'executing'", logger: logger).decode(String.self) {
            ids.append(id)
        }
        return ids
    }

    func startExecution(_ id: String, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE safeguard_approvals
            SET status = 'executing', execution_started_at = NOW(), execution_attempts = execution_attempts + 1, next_attempt_at = NULL,
                updated_at = NOW()
            WHERE approval_id = \(id)
            """,
            logger: logger
        )
    }

    /// Back to approved: the call provably never reached the server, or its executor died. `retryAt` delays the next try.
    func returnToApproved(_ id: String, retryAt: Date?, on connection: PostgresConnection) async throws {
        try await connection.query(
            "UPDATE safeguard_approvals SET status = 'approved', next_attempt_at = \(retryAt), updated_at = NOW() WHERE approval_id = \(id)",
            logger: logger
        )
    }

    func finishExecution(_ id: String, status: ApprovalStatus, result: JSONValue?, error: String?, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE safeguard_approvals
            SET status = \(status.rawValue), result = \(result?.jsonText)::jsonb, error = \(error), executed_at = NOW(), updated_at = NOW()
            WHERE approval_id = \(id)
            """,
            logger: logger
        )
    }

    func setImpactAfter(_ id: String, _ after: JSONValue, on connection: PostgresConnection) async throws {
        try await connection.query("UPDATE safeguard_approvals SET impact_after = \(after.jsonText)::jsonb WHERE approval_id = \(id)", logger: logger)
    }
}
