import Foundation
import Logging
import PostgresNIO

/// The dashboards' read-only SQL. Every figure is "rows of a period" `[from, to)`, read from the hourly counts and
/// the rows of the partial first and last hours (`widip_*_counts`, migration 0009). Categories, outcomes and
/// responsibilities that Phase 1 wrote outside the known values are counted under AUTRE, "en cours" and Indéterminé,
/// by the same SQL functions for a figure and for the rows behind it, so a drill-down always lists exactly what was
/// counted.
struct DashboardRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    // MARK: SUPPORT

    struct CategoryCount: Sendable, Equatable {
        let category: String
        let count: Int
        let autoResolved: Int
        let resolved: Int
        let escalated: Int
    }

    func ticketsByCategory(_ period: DashboardPeriod) async throws -> [CategoryCount] {
        let rows = try await client.query(
            """
            SELECT category, sum(tickets)::int, COALESCE(sum(tickets) FILTER (WHERE auto_resolved), 0)::int,
                   COALESCE(sum(tickets) FILTER (WHERE outcome = 'resolu'), 0)::int, COALESCE(sum(tickets) FILTER (WHERE outcome = 'escalade'), 0)::int
            FROM widip_ticket_counts(\(period.from), \(period.to))
            GROUP BY 1 HAVING sum(tickets) <> 0
            """,
            logger: logger
        )
        var counts: [CategoryCount] = []
        for try await (category, count, auto, resolved, escalated) in rows.decode((String, Int, Int, Int, Int).self) {
            counts.append(CategoryCount(category: category, count: count, autoResolved: auto, resolved: resolved, escalated: escalated))
        }
        return counts
    }

    func ticketCount(_ period: DashboardPeriod) async throws -> Int {
        try await count("SELECT COALESCE(sum(tickets), 0)::int FROM widip_ticket_counts(\(period.from), \(period.to))")
    }

    struct Bucket: Sendable, Equatable {
        /// The bucket's start in the display time zone, as `YYYY-MM-DDTHH`.
        let key: String
        let count: Int
    }

    /// Rows per hour or per day of the display time zone. `table` and `column` are this file's own constants.
    func buckets(of dataset: Dataset, _ period: DashboardPeriod, unit: BucketUnit, timeZone: TimeZone) async throws -> [Bucket] {
        let zone = timeZone.identifier
        let query: PostgresQuery = switch dataset {
        case .tickets:
            """
            SELECT to_char(date_trunc(\(unit.rawValue), hour AT TIME ZONE \(zone)), 'YYYY-MM-DD"T"HH24'), sum(tickets)::int
            FROM widip_ticket_counts(\(period.from), \(period.to)) GROUP BY 1
            """
        case .alerts:
            """
            SELECT to_char(date_trunc(\(unit.rawValue), hour AT TIME ZONE \(zone)), 'YYYY-MM-DD"T"HH24'), sum(alerts)::int
            FROM widip_incident_counts(\(period.from), \(period.to)) GROUP BY 1
            """
        case .approvals:
            """
            SELECT to_char(date_trunc(\(unit.rawValue), hour AT TIME ZONE \(zone)), 'YYYY-MM-DD"T"HH24'), sum(approvals)::int
            FROM widip_approval_counts(\(period.from), \(period.to)) GROUP BY 1
            """
        case .knowledge:
            """
            SELECT to_char(date_trunc(\(unit.rawValue), created_at AT TIME ZONE \(zone)), 'YYYY-MM-DD"T"HH24'), count(*)::int
            FROM widip_knowledge_base WHERE created_at >= \(period.from) AND created_at < \(period.to) GROUP BY 1
            """
        }
        var buckets: [Bucket] = []
        for try await (key, count) in try await client.query(query, logger: logger).decode((String, Int).self) {
            buckets.append(Bucket(key: key, count: count))
        }
        return buckets
    }

    enum Dataset: Sendable { case tickets, alerts, approvals, knowledge }
    enum BucketUnit: String, Sendable { case hour, day }

    // MARK: SENTINEL

    struct AlertTotals: Sendable, Equatable {
        var total = 0
        var open = 0
        var diagnosing = 0
        var resolved = 0
    }

    func alertTotals(_ period: DashboardPeriod) async throws -> AlertTotals {
        let rows = try await client.query(
            """
            SELECT COALESCE(sum(alerts), 0)::int, COALESCE(sum(alerts) FILTER (WHERE state = 'open'), 0)::int,
                   COALESCE(sum(alerts) FILTER (WHERE state = 'diagnosing'), 0)::int, COALESCE(sum(alerts) FILTER (WHERE state = 'resolved'), 0)::int
            FROM widip_incident_counts(\(period.from), \(period.to))
            """,
            logger: logger
        )
        var totals = AlertTotals()
        for try await (total, open, diagnosing, resolved) in rows.decode((Int, Int, Int, Int).self) {
            totals = AlertTotals(total: total, open: open, diagnosing: diagnosing, resolved: resolved)
        }
        return totals
    }

    func responsibilities(_ period: DashboardPeriod) async throws -> [(responsibility: String, count: Int)] {
        let rows = try await client.query(
            """
            SELECT responsibility, sum(alerts)::int FROM widip_incident_counts(\(period.from), \(period.to))
            GROUP BY 1 HAVING sum(alerts) <> 0
            """,
            logger: logger
        )
        var counts: [(String, Int)] = []
        for try await row in rows.decode((String, Int).self) { counts.append(row) }
        return counts
    }

    struct ImpactedClient: Sendable, Equatable {
        let client: String
        let active: Int
        let diagnosing: Int
        /// The open incidents' earliest detection, or the last resolution when none is open.
        let since: Date
        let responsibility: String
        let resolvedAt: Date?
    }

    /// Clients with an open incident (several alerts of one site are one line), then those whose last incident was
    /// resolved within the period.
    func impactedClients(_ period: DashboardPeriod, limit: Int) async throws -> [ImpactedClient] {
        let rows = try await client.query(
            """
            WITH open AS (
                SELECT COALESCE(client_name, 'Client inconnu') AS client, count(*)::int AS active,
                       count(*) FILTER (WHERE widip_incident_state(status, resolved_at) = 'diagnosing')::int AS diagnosing,
                       min(detected_at) AS since,
                       (array_agg(widip_responsibility(responsibility) ORDER BY detected_at DESC))[1] AS responsibility
                FROM incident_logs WHERE resolved_at IS NULL AND detected_at IS NOT NULL GROUP BY 1
            ), latest AS (
                -- The period's latest resolutions, newest first by index: a thousand hold the last resolution of every
                -- client of an estate of dozens, without reading the 30 days of them.
                SELECT COALESCE(client_name, 'Client inconnu') AS client, resolved_at, widip_responsibility(responsibility) AS responsibility
                FROM incident_logs WHERE resolved_at >= \(period.from) AND resolved_at < \(period.to)
                ORDER BY resolved_at DESC LIMIT 1000
            ), recovered AS (
                SELECT DISTINCT ON (client) client, resolved_at, responsibility FROM latest ORDER BY client, resolved_at DESC
            )
            (SELECT client, active, diagnosing, since, responsibility, NULL::timestamptz FROM open ORDER BY active DESC, since LIMIT \(limit))
            UNION ALL
            (SELECT client, 0, 0, resolved_at, responsibility, resolved_at FROM recovered
             WHERE client NOT IN (SELECT client FROM open) ORDER BY resolved_at DESC LIMIT \(limit))
            """,
            logger: logger
        )
        var clients: [ImpactedClient] = []
        for try await (client, active, diagnosing, since, responsibility, resolved) in rows.decode((String, Int, Int, Date, String, Date?).self) {
            clients.append(ImpactedClient(client: client, active: active, diagnosing: diagnosing, since: since, responsibility: responsibility, resolvedAt: resolved))
        }
        return Array(clients.prefix(limit))
    }

    // MARK: SAFEGUARD

    struct ApprovalTotals: Sendable, Equatable {
        var total = 0
        var approved = 0
        var rejected = 0
        var expired = 0
        var pending = 0
        var averageSeconds: Double?
        var p90Seconds: Double?
    }

    /// Counts by outcome from the hourly counts; the decision times from the decided rows themselves (a mean and a
    /// percentile cannot be added up hour by hour).
    func approvalTotals(_ period: DashboardPeriod) async throws -> ApprovalTotals {
        let rows = try await client.query(
            """
            WITH counts AS (SELECT outcome, approvals FROM widip_approval_counts(\(period.from), \(period.to)))
            SELECT (SELECT COALESCE(sum(approvals), 0) FROM counts)::int,
                   (SELECT COALESCE(sum(approvals), 0) FROM counts WHERE outcome = 'approved')::int,
                   (SELECT COALESCE(sum(approvals), 0) FROM counts WHERE outcome = 'rejected')::int,
                   (SELECT COALESCE(sum(approvals), 0) FROM counts WHERE outcome = 'expired')::int,
                   (SELECT COALESCE(sum(approvals), 0) FROM counts WHERE outcome = 'pending')::int,
                   avg(seconds)::float8, (percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds))::float8
            FROM (SELECT extract(epoch FROM decided_at - created_at) AS seconds FROM safeguard_approvals
                  WHERE created_at >= \(period.from) AND created_at < \(period.to) AND decided_at IS NOT NULL) AS decided
            """,
            logger: logger
        )
        var totals = ApprovalTotals()
        for try await row in rows.decode((Int, Int, Int, Int, Int, Double?, Double?).self) {
            totals = ApprovalTotals(total: row.0, approved: row.1, rejected: row.2, expired: row.3, pending: row.4, averageSeconds: row.5, p90Seconds: row.6)
        }
        return totals
    }

    func topActions(_ period: DashboardPeriod, limit: Int) async throws -> [(tool: String, count: Int)] {
        let rows = try await client.query(
            """
            SELECT tool, sum(approvals)::int FROM widip_approval_counts(\(period.from), \(period.to))
            GROUP BY 1 HAVING sum(approvals) <> 0 ORDER BY 2 DESC, 1 LIMIT \(limit)
            """,
            logger: logger
        )
        var tools: [(String, Int)] = []
        for try await row in rows.decode((String, Int).self) { tools.append(row) }
        return tools
    }

    struct PendingApproval: Sendable, Equatable {
        let approvalID: String
        let tool: String
        let level: String
        let client: String?
        let createdAt: Date
        let expiresAt: Date
    }

    func pendingApprovals(limit: Int) async throws -> (total: Int, first: [PendingApproval]) {
        let total = try await count("SELECT count(*)::int FROM safeguard_approvals WHERE status = 'pending'")
        let rows = try await client.query(
            """
            SELECT approval_id, tool_name, security_level, context->>'client_name', created_at, expires_at FROM safeguard_approvals
            WHERE status = 'pending' ORDER BY expires_at, approval_id LIMIT \(limit)
            """,
            logger: logger
        )
        var pending: [PendingApproval] = []
        for try await (id, tool, level, client, created, expires) in rows.decode((String, String, String, String?, Date, Date).self) {
            pending.append(PendingApproval(approvalID: id, tool: tool, level: level, client: client, createdAt: created, expiresAt: expires))
        }
        return (total, pending)
    }

    // MARK: ENRICHISSEUR

    struct KnowledgeSource: Sendable, Equatable {
        let source: String
        let entries: Int
        let added: Int
    }

    /// Entries by kind of source, and how many each gained in the period.
    func knowledgeBySource(_ period: DashboardPeriod) async throws -> [KnowledgeSource] {
        let rows = try await client.query(
            """
            SELECT COALESCE(source_type, 'autre'), count(*)::int,
                   count(*) FILTER (WHERE created_at >= \(period.from) AND created_at < \(period.to))::int
            FROM widip_knowledge_base GROUP BY 1 ORDER BY 2 DESC, 1
            """,
            logger: logger
        )
        var sources: [KnowledgeSource] = []
        for try await (source, entries, added) in rows.decode((String, Int, Int).self) {
            sources.append(KnowledgeSource(source: source, entries: entries, added: added))
        }
        return sources
    }

    func knowledgeEntries() async throws -> Int {
        try await count("SELECT count(*)::int FROM widip_knowledge_base")
    }

    func knowledgeAdded(since: Date, until: Date) async throws -> Int {
        try await count("SELECT count(*)::int FROM widip_knowledge_base WHERE created_at >= \(since) AND created_at < \(until)")
    }

    struct IngestionRunRow: Sendable, Equatable {
        let workflow: String
        let runID: String
        let source: String
        let status: String
        let added: Int
        let updated: Int
        let removed: Int
        let error: String?
        let startedAt: Date
        let finishedAt: Date
    }

    func ingestionRuns(_ period: DashboardPeriod?, limit: Int) async throws -> [IngestionRunRow] {
        let rows = try await client.query(
            """
            SELECT workflow, run_id, source, status, documents_added, documents_updated, documents_removed, error, started_at, finished_at
            FROM ingestion_runs
            WHERE (\(period?.from)::timestamptz IS NULL OR finished_at >= \(period?.from)) AND (\(period?.to)::timestamptz IS NULL OR finished_at < \(period?.to))
            ORDER BY finished_at DESC, id DESC LIMIT \(limit)
            """,
            logger: logger
        )
        var runs: [IngestionRunRow] = []
        for try await row in rows.decode((String, String, String, String, Int, Int, Int, String?, Date, Date).self) {
            runs.append(
                IngestionRunRow(
                    workflow: row.0, runID: row.1, source: row.2, status: row.3, added: row.4, updated: row.5, removed: row.6, error: row.7,
                    startedAt: row.8, finishedAt: row.9
                )
            )
        }
        return runs
    }

    /// The assistant's answers of the period (every mode), and how many of them drew on the knowledge base.
    func ragUse(_ period: DashboardPeriod) async throws -> (answers: Int, withSources: Int) {
        let rows = try await client.query(
            """
            SELECT count(*)::int, count(*) FILTER (WHERE rag_used)::int
            FROM messages WHERE role = 'assistant' AND created_at >= \(period.from) AND created_at < \(period.to)
            """,
            logger: logger
        )
        for try await row in rows.decode((Int, Int).self) { return row }
        return (0, 0)
    }

    struct ObsoleteSource: Sendable, Equatable {
        let id: Int
        let title: String
        let client: String?
        let reports: Int
        let lastReportedAt: Date
    }

    func obsoleteSources(limit: Int) async throws -> (total: Int, first: [ObsoleteSource]) {
        let total = try await count(
            "SELECT count(*)::int FROM (SELECT 1 FROM knowledge_feedback WHERE resolved_at IS NULL GROUP BY knowledge_id, source_key) AS sources"
        )
        // A source removed since it was reported keeps its report's title.
        let rows = try await client.query(
            """
            SELECT COALESCE(f.knowledge_id, 0)::int, max(f.title), max(kb.client), count(*)::int, max(f.created_at)
            FROM knowledge_feedback f LEFT JOIN widip_knowledge_base kb ON kb.id = f.knowledge_id
            WHERE f.resolved_at IS NULL GROUP BY f.knowledge_id, f.source_key ORDER BY 4 DESC, 5 DESC LIMIT \(limit)
            """,
            logger: logger
        )
        var sources: [ObsoleteSource] = []
        for try await (id, title, client, reports, last) in rows.decode((Int, String, String?, Int, Date).self) {
            sources.append(ObsoleteSource(id: id, title: title, client: client, reports: reports, lastReportedAt: last))
        }
        return (total, sources)
    }

    // MARK: Overview

    func alertCount(_ period: DashboardPeriod) async throws -> Int {
        try await count("SELECT COALESCE(sum(alerts), 0)::int FROM widip_incident_counts(\(period.from), \(period.to))")
    }

    struct HealthRow: Sendable, Equatable {
        let dependency: String
        let status: String
        let since: Date
        let latencyMs: Int?
        let detail: String?
        let checkedAt: Date
    }

    func health() async throws -> [HealthRow] {
        let rows = try await client.query("SELECT dependency, status, since, latency_ms, detail, checked_at FROM health_status ORDER BY dependency", logger: logger)
        var health: [HealthRow] = []
        for try await row in rows.decode((String, String, Date, Int?, String?, Date).self) {
            health.append(HealthRow(dependency: row.0, status: row.1, since: row.2, latencyMs: row.3, detail: row.4, checkedAt: row.5))
        }
        return health
    }

    struct ActivityRow: Sendable, Equatable {
        let at: Date
        let workflow: String
        let kind: String
        let reference: String?
        let subject: String?
        let state: String?
        let client: String?
    }

    /// The latest things that happened, across workflows, newest first. Each branch reads its own newest rows by
    /// index before the merge.
    func activity(limit: Int) async throws -> [ActivityRow] {
        let rows = try await client.query(
            """
            SELECT * FROM (
                (SELECT created_at, workflow, 'ticket', ticket_id, widip_ticket_category(category), widip_ticket_outcome(status), client_name
                 FROM widip_agent_logs WHERE created_at IS NOT NULL ORDER BY created_at DESC LIMIT \(limit))
                UNION ALL
                (SELECT detected_at, 'SENTINEL', 'alert', alert_id, device_name, widip_responsibility(responsibility), client_name
                 FROM incident_logs WHERE detected_at IS NOT NULL ORDER BY detected_at DESC LIMIT \(limit))
                UNION ALL
                (SELECT resolved_at, 'SENTINEL', 'recovery', alert_id, device_name, widip_responsibility(responsibility), client_name
                 FROM incident_logs WHERE resolved_at IS NOT NULL ORDER BY resolved_at DESC LIMIT \(limit))
                UNION ALL
                (SELECT created_at, 'SAFEGUARD', 'request', approval_id, tool_name, security_level, context->>'client_name'
                 FROM safeguard_approvals WHERE created_at IS NOT NULL ORDER BY created_at DESC LIMIT \(limit))
                UNION ALL
                (SELECT decided_at, 'SAFEGUARD', 'decision', approval_id, tool_name, widip_approval_outcome(status), context->>'client_name'
                 FROM safeguard_approvals WHERE decided_at IS NOT NULL ORDER BY decided_at DESC LIMIT \(limit))
                UNION ALL
                (SELECT created_at, workflow, 'error', COALESCE(ticket_id, alert_id), message, tool, NULL
                 FROM workflow_errors WHERE created_at IS NOT NULL ORDER BY created_at DESC LIMIT \(limit))
                UNION ALL
                (SELECT finished_at, workflow, 'ingestion', run_id, source, status, NULL
                 FROM ingestion_runs ORDER BY finished_at DESC LIMIT \(limit))
            ) AS activity ORDER BY 1 DESC LIMIT \(limit)
            """,
            logger: logger
        )
        var activity: [ActivityRow] = []
        for try await row in rows.decode((Date, String, String, String?, String?, String?, String?).self) {
            activity.append(ActivityRow(at: row.0, workflow: row.1, kind: row.2, reference: row.3, subject: row.4, state: row.5, client: row.6))
        }
        return activity
    }

    func count(_ query: PostgresQuery) async throws -> Int {
        for try await value in try await client.query(query, logger: logger).decode(Int.self) { return value }
        return 0
    }
}
