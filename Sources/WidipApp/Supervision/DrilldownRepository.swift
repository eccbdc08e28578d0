import Foundation
import Logging
import PostgresNIO

/// The rows behind each dashboard figure. A figure links here with the same period and the same reading of values
/// (the `widip_*` SQL functions), so the list holds exactly the rows it counted.
struct DrilldownRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// The most rows one answer lists; `total` still says how many match.
    static let maximumRows = 50_000
    /// The last column of a list: how many rows match, or nothing (-1) when not asked.
    static let total = "count(*) OVER ()::int"
    static let noTotal = "-1"

    struct Page<Row: Sendable>: Sendable {
        let total: Int
        let rows: [Row]
    }

    struct TicketFilter: Sendable, Equatable {
        var period: DashboardPeriod?
        var category: TicketCategory?
        var outcome: TicketOutcome?
        var autoResolved: Bool?
        var client: String?
    }

    /// `counted: false` when only the first rows matter (a dashboard's latest ones): counting them all would read the
    /// whole period (a million rows over 30 days) for a number nobody shows.
    func tickets(_ filter: TicketFilter, limit: Int, counted: Bool = true) async throws -> Page<TicketReport> {
        let rows = try await client.query(
            """
            SELECT id, ticket_id, widip_ticket_category(category), widip_ticket_outcome(status), auto_resolved, client_name, action, error,
                   duration_ms, workflow, correlation_id, created_at, \(unescaped: counted ? Self.total : Self.noTotal)
            FROM widip_agent_logs
            WHERE created_at IS NOT NULL AND (\(filter.period?.from)::timestamptz IS NULL OR created_at >= \(filter.period?.from))
              AND (\(filter.period?.to)::timestamptz IS NULL OR created_at < \(filter.period?.to))
              AND (\(filter.category?.rawValue)::text IS NULL OR widip_ticket_category(category) = \(filter.category?.rawValue))
              AND (\(filter.outcome?.rawValue)::text IS NULL OR widip_ticket_outcome(status) = \(filter.outcome?.rawValue))
              AND (\(filter.autoResolved)::boolean IS NULL OR auto_resolved = \(filter.autoResolved))
              AND (\(filter.client)::text IS NULL OR client_name = \(filter.client))
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """,
            logger: logger
        )
        var total = 0
        var tickets: [TicketReport] = []
        for try await row in rows.decode((Int64, String?, String, String, Bool?, String?, String?, String?, Int?, String, String?, Date, Int).self) {
            tickets.append(
                TicketReport(
                    id: row.0, ticketID: row.1, category: row.2, outcome: row.3, autoResolved: row.4, client: row.5, action: row.6, error: row.7,
                    durationMs: row.8, workflow: row.9, correlationID: row.10, at: row.11
                )
            )
            total = row.12
        }
        return Page(total: total, rows: tickets)
    }

    /// `active` is open or waiting for a diagnosis: not resolved.
    enum AlertState: String, Sendable, CaseIterable {
        case open, diagnosing, resolved, active
    }

    struct AlertFilter: Sendable, Equatable {
        var period: DashboardPeriod?
        var state: AlertState?
        var responsibility: Responsibility?
        var client: String?
    }

    func alerts(_ filter: AlertFilter, limit: Int, counted: Bool = true) async throws -> Page<AlertReportRow> {
        let state = filter.state?.rawValue
        return try await alertPage(
            """
            SELECT id, alert_id, device_name, client_name, widip_incident_state(status, resolved_at), widip_responsibility(responsibility),
                   confidence::int, ticket_id, message, correlation_id, detected_at, resolved_at, timeline::text, \(unescaped: counted ? Self.total : Self.noTotal)
            FROM incident_logs
            WHERE detected_at IS NOT NULL AND (\(filter.period?.from)::timestamptz IS NULL OR detected_at >= \(filter.period?.from))
              AND (\(filter.period?.to)::timestamptz IS NULL OR detected_at < \(filter.period?.to))
              AND (\(state)::text IS NULL
                   OR (\(state) = 'active' AND resolved_at IS NULL)
                   OR widip_incident_state(status, resolved_at) = \(state))
              AND (\(filter.responsibility?.rawValue)::text IS NULL OR widip_responsibility(responsibility) = \(filter.responsibility?.rawValue))
              AND (\(filter.client)::text IS NULL OR COALESCE(client_name, 'Client inconnu') = \(filter.client))
            ORDER BY detected_at DESC, id DESC LIMIT \(limit)
            """
        )
    }

    enum ApprovalOutcome: String, Sendable, CaseIterable {
        case pending, approved, rejected, expired
    }

    struct ApprovalFilter: Sendable, Equatable {
        var period: DashboardPeriod?
        var outcome: ApprovalOutcome?
        var tool: String?
    }

    func approvals(_ filter: ApprovalFilter, limit: Int) async throws -> Page<ApprovalReport> {
        let rows = try await client.query(
            """
            SELECT approval_id, tool_name, security_level, status, requester_name, context->>'client_name', context->>'ticket_id',
                   created_at, decided_at, expires_at, count(*) OVER ()::int
            FROM safeguard_approvals
            WHERE (\(filter.period?.from)::timestamptz IS NULL OR created_at >= \(filter.period?.from))
              AND (\(filter.period?.to)::timestamptz IS NULL OR created_at < \(filter.period?.to))
              AND (\(filter.outcome?.rawValue)::text IS NULL OR widip_approval_outcome(status) = \(filter.outcome?.rawValue))
              AND (\(filter.tool)::text IS NULL OR tool_name = \(filter.tool))
            ORDER BY created_at DESC, approval_id DESC LIMIT \(limit)
            """,
            logger: logger
        )
        var total = 0
        var approvals: [ApprovalReport] = []
        for try await row in rows.decode((String, String, String, String, String?, String?, String?, Date, Date?, Date, Int).self) {
            approvals.append(
                ApprovalReport(
                    approvalID: row.0, tool: row.1, level: row.2, status: row.3, requester: row.4, client: row.5, ticketID: row.6, createdAt: row.7,
                    decidedAt: row.8, expiresAt: row.9
                )
            )
            total = row.10
        }
        return Page(total: total, rows: approvals)
    }

    struct ErrorFilter: Sendable, Equatable {
        var period: DashboardPeriod?
        var workflow: String?
    }

    func errors(_ filter: ErrorFilter, limit: Int) async throws -> Page<ErrorReport> {
        let rows = try await client.query(
            """
            SELECT workflow, message, tool, ticket_id, alert_id, attempts, recovered, correlation_id, created_at, count(*) OVER ()::int
            FROM widip_workflow_error_feed
            WHERE created_at IS NOT NULL AND (\(filter.period?.from)::timestamptz IS NULL OR created_at >= \(filter.period?.from))
              AND (\(filter.period?.to)::timestamptz IS NULL OR created_at < \(filter.period?.to))
              AND (\(filter.workflow)::text IS NULL OR workflow = \(filter.workflow))
            ORDER BY created_at DESC, key DESC LIMIT \(limit)
            """,
            logger: logger
        )
        var total = 0
        var errors: [ErrorReport] = []
        for try await row in rows.decode((String, String, String?, String?, String?, Int?, Bool, String?, Date, Int).self) {
            errors.append(
                ErrorReport(
                    workflow: row.0, message: row.1, tool: row.2, ticketID: row.3, alertID: row.4, attempts: row.5, recovered: row.6,
                    correlationID: row.7, at: row.8
                )
            )
            total = row.9
        }
        return Page(total: total, rows: errors)
    }

    func errorCount(_ filter: ErrorFilter) async throws -> Int {
        let rows = try await client.query(
            """
            SELECT count(*)::int FROM widip_workflow_error_feed
            WHERE created_at IS NOT NULL AND (\(filter.period?.from)::timestamptz IS NULL OR created_at >= \(filter.period?.from))
              AND (\(filter.period?.to)::timestamptz IS NULL OR created_at < \(filter.period?.to))
              AND (\(filter.workflow)::text IS NULL OR workflow = \(filter.workflow))
            """,
            logger: logger
        )
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    /// The incidents still open (newest first), by the partial index of open incidents: what the assistant is told.
    func openIncidents(client: String?, limit: Int) async throws -> Page<AlertReportRow> {
        try await alertPage(
            """
            SELECT id, alert_id, device_name, client_name, widip_incident_state(status, resolved_at), widip_responsibility(responsibility),
                   confidence::int, ticket_id, message, correlation_id, detected_at, resolved_at, timeline::text, count(*) OVER ()::int
            FROM incident_logs
            WHERE resolved_at IS NULL AND detected_at IS NOT NULL AND (\(client)::text IS NULL OR client_name = \(client))
            ORDER BY detected_at DESC, id DESC LIMIT \(limit)
            """
        )
    }

    /// Runs an alerts query whose columns are those of `AlertReportRow` (the steps as JSON), then the total.
    private func alertPage(_ query: PostgresQuery) async throws -> Page<AlertReportRow> {
        let rows = try await client.query(query, logger: logger)
        var total = 0
        var alerts: [AlertReportRow] = []
        for try await row in rows.decode((Int64, String?, String?, String?, String, String, Int?, String?, String?, String?, Date, Date?, String, Int).self) {
            alerts.append(
                AlertReportRow(
                    id: row.0, alertID: row.1, device: row.2, client: row.3, state: row.4, responsibility: row.5, confidence: row.6, ticketID: row.7,
                    message: row.8, correlationID: row.9, detectedAt: row.10, resolvedAt: row.11, timeline: AlertReportRow.steps(json: row.12)
                )
            )
            total = row.13
        }
        return Page(total: total, rows: alerts)
    }

    // MARK: Timeline

    /// One step of a ticket's or an alert's life, whichever system recorded it.
    struct TimelineEntry: Sendable, Equatable {
        let at: Date
        /// Observium, SENTINEL, SUPPORT, SAFEGUARD… (the workflow that wrote the row).
        let source: String
        /// alert, step, recovery, ticket, error, request, decision, execution.
        let kind: String
        let reference: String?
        let subject: String?
        let detail: String?
        let state: String?
        let correlationID: String?
    }

    /// Everything that shares a thread with the given alert, ticket or correlation id: the incident and its steps,
    /// the tickets and errors of the workflows, SAFEGUARD's requests, their decisions and executions.
    func timeline(correlationID: String?, ticketID: String?, alertID: String?, limit: Int) async throws -> [TimelineEntry] {
        let rows = try await client.query(
            """
            WITH seeds AS (
                SELECT correlation_id FROM incident_logs WHERE alert_id = \(alertID) OR ticket_id = \(ticketID) OR correlation_id = \(correlationID)
                UNION SELECT correlation_id FROM widip_agent_logs WHERE ticket_id = \(ticketID) OR correlation_id = \(correlationID)
                UNION SELECT \(correlationID)::text
            ), threads AS (
                SELECT DISTINCT correlation_id FROM seeds WHERE correlation_id IS NOT NULL
            ), tickets AS (
                SELECT ticket_id FROM incident_logs WHERE correlation_id IN (SELECT correlation_id FROM threads) AND ticket_id IS NOT NULL
                UNION SELECT ticket_id FROM widip_agent_logs WHERE correlation_id IN (SELECT correlation_id FROM threads) AND ticket_id IS NOT NULL
                UNION SELECT ticket_id FROM incident_logs WHERE alert_id = \(alertID) AND ticket_id IS NOT NULL
                UNION SELECT \(ticketID)::text WHERE \(ticketID)::text IS NOT NULL
            ), incidents AS (
                -- Phase 1 incidents may have no thread: found by their alert or their ticket.
                SELECT * FROM incident_logs
                WHERE correlation_id IN (SELECT correlation_id FROM threads)
                   OR (correlation_id IS NULL AND (alert_id = \(alertID) OR ticket_id IN (SELECT ticket_id FROM tickets)))
            ), approvals AS (
                SELECT * FROM safeguard_approvals
                WHERE context->>'correlation_id' IN (SELECT correlation_id FROM threads) OR context->>'ticket_id' IN (SELECT ticket_id FROM tickets)
            )
            SELECT * FROM (
                SELECT detected_at, 'Observium', 'alert', alert_id, device_name, message, severity, correlation_id FROM incidents
                WHERE detected_at IS NOT NULL
                UNION ALL
                SELECT widip_try_timestamptz(step->>'at'), 'SENTINEL', 'step', i.alert_id, i.device_name, step->>'text', NULL, i.correlation_id
                FROM incidents i, jsonb_array_elements(CASE jsonb_typeof(i.timeline) WHEN 'array' THEN i.timeline ELSE '[]'::jsonb END) AS step
                WHERE jsonb_typeof(step) = 'object' AND widip_try_timestamptz(step->>'at') IS NOT NULL
                UNION ALL
                SELECT resolved_at, 'SENTINEL', 'recovery', alert_id, device_name, widip_responsibility(responsibility), NULL, correlation_id
                FROM incidents WHERE resolved_at IS NOT NULL
                UNION ALL
                SELECT created_at, workflow, 'ticket', ticket_id, widip_ticket_category(category), action, widip_ticket_outcome(status), correlation_id
                FROM widip_agent_logs
                WHERE created_at IS NOT NULL AND (correlation_id IN (SELECT correlation_id FROM threads) OR ticket_id IN (SELECT ticket_id FROM tickets))
                UNION ALL
                SELECT created_at, workflow, 'error', COALESCE(ticket_id, alert_id), tool, message, CASE WHEN recovered THEN 'recovered' END, correlation_id
                FROM widip_workflow_error_feed
                WHERE created_at IS NOT NULL
                  AND (correlation_id IN (SELECT correlation_id FROM threads) OR ticket_id IN (SELECT ticket_id FROM tickets) OR alert_id = \(alertID))
                UNION ALL
                SELECT created_at, COALESCE(requester_name, 'SAFEGUARD'), 'request', approval_id, tool_name, security_level, status, context->>'correlation_id'
                FROM approvals
                UNION ALL
                SELECT decided_at, 'SAFEGUARD', 'decision', approval_id, tool_name, decision_reason, widip_approval_outcome(status), context->>'correlation_id'
                FROM approvals WHERE decided_at IS NOT NULL
                UNION ALL
                SELECT executed_at, 'SAFEGUARD', 'execution', approval_id, tool_name, error, status, context->>'correlation_id'
                FROM approvals WHERE executed_at IS NOT NULL
            ) AS entries ORDER BY 1, 2 LIMIT \(limit)
            """,
            logger: logger
        )
        var entries: [TimelineEntry] = []
        for try await row in rows.decode((Date, String, String, String?, String?, String?, String?, String?).self) {
            entries.append(
                TimelineEntry(at: row.0, source: row.1, kind: row.2, reference: row.3, subject: row.4, detail: row.5, state: row.6, correlationID: row.7)
            )
        }
        return entries
    }
}
