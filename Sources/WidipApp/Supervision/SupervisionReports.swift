import Foundation

/// What `GET /api/supervision/*` answers: raw values (numbers, UTC times, codes) for programs; the pages format them.

struct PeriodReport: Encodable, Sendable, Equatable {
    let preset: String
    let from: Date
    let to: Date
    let previousFrom: Date
    let previousTo: Date

    init(_ period: DashboardPeriod) {
        preset = period.preset.rawValue
        from = period.from
        to = period.to
        previousFrom = period.previous.from
        previousTo = period.previous.to
    }

    enum CodingKeys: String, CodingKey {
        case preset, from, to
        case previousFrom = "previous_from"
        case previousTo = "previous_to"
    }
}

/// A count of the period, the same count over the previous period, and the rows behind it.
struct FigureReport: Encodable, Sendable, Equatable {
    let value: Int
    let previous: Int?
    /// Change in percent against the previous period; nil when that period had none (no meaningful ratio).
    let change: Double?
    /// `GET` path of the rows counted (same period, same filters).
    let rows: String?

    init(_ value: Int, previous: Int? = nil, rows: String? = nil) {
        self.value = value
        self.previous = previous
        if let previous, previous > 0 {
            change = (Double(value - previous) / Double(previous) * 1000).rounded() / 10
        } else {
            change = nil
        }
        self.rows = rows
    }
}

struct SeriesPoint: Encodable, Sendable, Equatable {
    /// The bucket's start, in the display time zone (`2026-12-04T14`, an hour; `T00` of a day).
    let bucket: String
    let count: Int
}

struct DependencyHealth: Encodable, Sendable, Equatable {
    let dependency: String
    let status: String
    let since: Date
    let latencyMs: Int?
    let detail: String?
    let checkedAt: Date

    enum CodingKeys: String, CodingKey {
        case dependency, status, since, detail
        case latencyMs = "latency_ms"
        case checkedAt = "checked_at"
    }
}

struct ActivityItem: Encodable, Sendable, Equatable {
    let at: Date
    let workflow: String
    let kind: String
    let reference: String?
    let client: String?
    /// The line as the feed shows it, in French.
    let text: String
    /// The page that tells the rest (a ticket's or an alert's timeline, a SAFEGUARD request).
    let link: String?
    /// ok, warning, critical, info: the feed's marker.
    let tone: String
}

struct OverviewReport: Encodable, Sendable {
    let period: PeriodReport
    let tickets: FigureReport
    let alerts: FigureReport
    let approvalsPending: FigureReport
    let knowledgeEntries: Int
    let knowledgeAddedToday: Int
    let knowledgeAdded: FigureReport
    let health: [DependencyHealth]
    let activity: [ActivityItem]
    let ticketSeries: [SeriesPoint]
    let alertSeries: [SeriesPoint]

    enum CodingKeys: String, CodingKey {
        case period, tickets, alerts, health, activity
        case approvalsPending = "approvals_pending"
        case knowledgeEntries = "knowledge_entries"
        case knowledgeAddedToday = "knowledge_added_today"
        case knowledgeAdded = "knowledge_added"
        case ticketSeries = "ticket_series"
        case alertSeries = "alert_series"
    }
}

struct CategoryReport: Encodable, Sendable, Equatable {
    let category: String
    let tickets: FigureReport
    let autoResolved: Int
    /// Share of the category's tickets resolved without a technician; nil for #DIAG (they wait for the client).
    let autoResolutionRate: Double?

    enum CodingKeys: String, CodingKey {
        case category, tickets
        case autoResolved = "auto_resolved"
        case autoResolutionRate = "auto_resolution_rate"
    }
}

struct TicketReport: Encodable, Sendable, Equatable {
    let id: Int64
    let ticketID: String?
    let category: String
    let outcome: String
    let autoResolved: Bool?
    let client: String?
    let action: String?
    let error: String?
    let durationMs: Int?
    let workflow: String
    let correlationID: String?
    let at: Date

    enum CodingKeys: String, CodingKey {
        case id, category, outcome, client, action, error, workflow, at
        case ticketID = "ticket_id"
        case autoResolved = "auto_resolved"
        case durationMs = "duration_ms"
        case correlationID = "correlation_id"
    }
}

struct ErrorReport: Encodable, Sendable, Equatable {
    let workflow: String
    let message: String
    let tool: String?
    let ticketID: String?
    let alertID: String?
    let attempts: Int?
    let recovered: Bool
    let correlationID: String?
    let at: Date

    enum CodingKeys: String, CodingKey {
        case workflow, message, tool, attempts, recovered, at
        case ticketID = "ticket_id"
        case alertID = "alert_id"
        case correlationID = "correlation_id"
    }
}

struct ApprovalReport: Encodable, Sendable, Equatable {
    let approvalID: String
    let tool: String
    let level: String
    let status: String
    let requester: String?
    let client: String?
    let ticketID: String?
    let createdAt: Date
    let decidedAt: Date?
    let expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case tool, level, status, requester, client
        case approvalID = "approval_id"
        case ticketID = "ticket_id"
        case createdAt = "created_at"
        case decidedAt = "decided_at"
        case expiresAt = "expires_at"
    }
}

struct SupportReport: Encodable, Sendable {
    let period: PeriodReport
    let tickets: FigureReport
    let autoResolved: FigureReport
    let escalated: FigureReport
    let categories: [CategoryReport]
    let series: [SeriesPoint]
    let latest: [TicketReport]
    /// Errors of the last 24 hours, whatever the period (PRD 3.3.2).
    let errors: FigureReport
    let latestErrors: [ErrorReport]

    enum CodingKeys: String, CodingKey {
        case period, tickets, escalated, categories, series, latest, errors
        case autoResolved = "auto_resolved"
        case latestErrors = "latest_errors"
    }
}

struct IncidentStep: Encodable, Sendable, Equatable {
    let at: String
    let text: String
}

struct AlertReportRow: Encodable, Sendable, Equatable {
    let id: Int64
    let alertID: String?
    let device: String?
    let client: String?
    let state: String
    let responsibility: String
    let confidence: Int?
    let ticketID: String?
    let message: String?
    let correlationID: String?
    let detectedAt: Date
    let resolvedAt: Date?
    let timeline: [IncidentStep]

    /// The steps as stored (`incident_logs.timeline`), those with a time and a text.
    static func steps(json: String) -> [IncidentStep] {
        (try? JSONDecoder().decode([TimelineStepInput].self, from: Data(json.utf8)))?.compactMap { step in
            guard let at = step.at, let text = step.text else { return nil }
            return IncidentStep(at: at, text: text)
        } ?? []
    }

    /// Phase 1 writes the steps: any of their fields may be missing.
    private struct TimelineStepInput: Decodable {
        let at: String?
        let text: String?
    }

    enum CodingKeys: String, CodingKey {
        case id, device, client, state, responsibility, confidence, message, timeline
        case alertID = "alert_id"
        case ticketID = "ticket_id"
        case correlationID = "correlation_id"
        case detectedAt = "detected_at"
        case resolvedAt = "resolved_at"
    }
}

struct ResponsibilityShare: Encodable, Sendable, Equatable {
    let responsibility: String
    let alerts: FigureReport
    let share: Double
}

struct ImpactedClientReport: Encodable, Sendable, Equatable {
    let client: String
    let activeAlerts: FigureReport
    let diagnosing: Int
    let since: Date
    let responsibility: String
    let resolvedAt: Date?

    enum CodingKeys: String, CodingKey {
        case client, diagnosing, since, responsibility
        case activeAlerts = "active_alerts"
        case resolvedAt = "resolved_at"
    }
}

struct SentinelReport: Encodable, Sendable {
    let period: PeriodReport
    let alerts: FigureReport
    let open: FigureReport
    let diagnosing: FigureReport
    let resolved: FigureReport
    let responsibilities: [ResponsibilityShare]
    let impactedClients: [ImpactedClientReport]
    let series: [SeriesPoint]
    let timeline: [AlertReportRow]

    enum CodingKeys: String, CodingKey {
        case period, alerts, open, diagnosing, resolved, responsibilities, series, timeline
        case impactedClients = "impacted_clients"
    }
}

struct KnowledgeSourceReport: Encodable, Sendable, Equatable {
    let source: String
    let entries: Int
    let added: Int
}

struct IngestionRunReport: Encodable, Sendable, Equatable {
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

    init(_ row: DashboardRepository.IngestionRunRow) {
        (workflow, runID, source, status, added, updated, removed) = (row.workflow, row.runID, row.source, row.status, row.added, row.updated, row.removed)
        (error, startedAt, finishedAt) = (row.error, row.startedAt, row.finishedAt)
    }

    enum CodingKeys: String, CodingKey {
        case workflow, source, status, added, updated, removed, error
        case runID = "run_id"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }
}

struct ObsoleteSourceReport: Encodable, Sendable, Equatable {
    let id: Int
    let title: String
    let client: String?
    let reports: Int
    let lastReportedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, title, client, reports
        case lastReportedAt = "last_reported_at"
    }
}

struct EnrichisseurReport: Encodable, Sendable {
    let period: PeriodReport
    let entries: Int
    let added: FigureReport
    let sources: [KnowledgeSourceReport]
    let series: [SeriesPoint]
    let runs: [IngestionRunReport]
    let assistantAnswers: FigureReport
    let answersWithSources: FigureReport
    let obsolete: Int
    let obsoleteSources: [ObsoleteSourceReport]

    enum CodingKeys: String, CodingKey {
        case period, entries, added, sources, series, runs, obsolete
        case assistantAnswers = "assistant_answers"
        case answersWithSources = "answers_with_sources"
        case obsoleteSources = "obsolete_sources"
    }
}

struct PendingApprovalReport: Encodable, Sendable, Equatable {
    let approvalID: String
    let tool: String
    let level: String
    let client: String?
    let createdAt: Date
    let expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case tool, level, client
        case approvalID = "approval_id"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
    }
}

struct ToolShare: Encodable, Sendable, Equatable {
    let tool: String
    let requests: FigureReport
    let share: Double
}

struct SafeguardDashboardReport: Encodable, Sendable {
    let period: PeriodReport
    let pending: FigureReport
    let pendingFirst: [PendingApprovalReport]
    let requests: FigureReport
    let approved: FigureReport
    let rejected: FigureReport
    let expired: FigureReport
    let averageResponseSeconds: Double?
    let p90ResponseSeconds: Double?
    let topActions: [ToolShare]
    let series: [SeriesPoint]

    enum CodingKeys: String, CodingKey {
        case period, pending, requests, approved, rejected, expired, series
        case pendingFirst = "pending_first"
        case averageResponseSeconds = "average_response_seconds"
        case p90ResponseSeconds = "p90_response_seconds"
        case topActions = "top_actions"
    }
}

struct RowsReport<Row: Encodable & Sendable>: Encodable, Sendable {
    let total: Int
    let rows: [Row]
    /// True when `rows` holds fewer than `total` (the limit was reached).
    let truncated: Bool
}

struct TimelineEntryReport: Encodable, Sendable, Equatable {
    let at: Date
    let source: String
    let kind: String
    let reference: String?
    let text: String
    let link: String?
    let tone: String
    let correlationID: String?

    enum CodingKeys: String, CodingKey {
        case at, source, kind, reference, text, link, tone
        case correlationID = "correlation_id"
    }
}
