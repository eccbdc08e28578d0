import Foundation

/// The five dashboards (PRD 3.3), their drill-downs and the timeline of a ticket or an alert. Read-only: what it shows
/// comes from the workflow tables, SAFEGUARD's requests, the knowledge base and the assistant's messages.
struct SupervisionService: Sendable {
    let dashboards: DashboardRepository
    let drilldowns: DrilldownRepository
    let timeZone: TimeZone

    static let feedLength = 15
    static let listLength = 10

    // MARK: Dashboards

    func overview(_ period: DashboardPeriod, now: Date = Date()) async throws -> OverviewReport {
        async let tickets = dashboards.ticketCount(period)
        async let previousTickets = dashboards.ticketCount(period.previous)
        async let alerts = dashboards.alertCount(period)
        async let previousAlerts = dashboards.alertCount(period.previous)
        async let pending = dashboards.pendingApprovals(limit: 0)
        async let entries = dashboards.knowledgeEntries()
        async let addedToday = dashboards.knowledgeAdded(since: startOfDay(now), until: now.addingTimeInterval(1))
        async let added = dashboards.knowledgeAdded(since: period.from, until: period.to)
        async let previousAdded = dashboards.knowledgeAdded(since: period.previous.from, until: period.previous.to)
        async let health = dashboards.health()
        async let activity = dashboards.activity(limit: Self.feedLength)
        async let ticketSeries = series(.tickets, period)
        async let alertSeries = series(.alerts, period)
        return OverviewReport(
            period: PeriodReport(period),
            tickets: FigureReport(try await tickets, previous: try await previousTickets, rows: Self.rows("tickets", period)),
            alerts: FigureReport(try await alerts, previous: try await previousAlerts, rows: Self.rows("alerts", period)),
            approvalsPending: FigureReport(try await pending.total, rows: "/api/supervision/approvals?outcome=pending"),
            knowledgeEntries: try await entries, knowledgeAddedToday: try await addedToday,
            knowledgeAdded: FigureReport(try await added, previous: try await previousAdded),
            health: try await health.map(Self.health), activity: try await activity.map(Self.activity),
            ticketSeries: try await ticketSeries, alertSeries: try await alertSeries
        )
    }

    func support(_ period: DashboardPeriod, now: Date = Date()) async throws -> SupportReport {
        async let categories = dashboards.ticketsByCategory(period)
        async let previousCategories = dashboards.ticketsByCategory(period.previous)
        async let series = series(.tickets, period)
        async let latest = drilldowns.tickets(.init(period: period), limit: Self.listLength, counted: false)
        let lastDay = DashboardPeriod.lastDay(before: now)
        async let errors = drilldowns.errors(.init(period: lastDay, workflow: "SUPPORT"), limit: Self.listLength)
        async let previousErrors = drilldowns.errorCount(.init(period: lastDay.previous, workflow: "SUPPORT"))
        let current = try await categories
        let previous = try await previousCategories
        func sum(_ counts: [DashboardRepository.CategoryCount], _ value: (DashboardRepository.CategoryCount) -> Int) -> Int {
            counts.reduce(0) { $0 + value($1) }
        }
        let reports = TicketCategory.allCases.map { category in
            let now = current.first { $0.category == category.rawValue }
            let before = previous.first { $0.category == category.rawValue }
            let count = now?.count ?? 0
            let auto = now?.autoResolved ?? 0
            return CategoryReport(
                category: category.rawValue,
                tickets: FigureReport(count, previous: before?.count ?? 0, rows: Self.rows("tickets", period, ["category": category.rawValue])),
                autoResolved: auto,
                autoResolutionRate: category == .diagnosis || count == 0 ? nil : Double(auto) / Double(count)
            )
        }
        let errorPage = try await errors
        return SupportReport(
            period: PeriodReport(period),
            tickets: FigureReport(sum(current) { $0.count }, previous: sum(previous) { $0.count }, rows: Self.rows("tickets", period)),
            autoResolved: FigureReport(
                sum(current) { $0.autoResolved }, previous: sum(previous) { $0.autoResolved }, rows: Self.rows("tickets", period, ["auto_resolved": "true"])
            ),
            escalated: FigureReport(
                sum(current) { $0.escalated }, previous: sum(previous) { $0.escalated }, rows: Self.rows("tickets", period, ["outcome": "escalade"])
            ),
            categories: reports, series: try await series, latest: try await latest.rows,
            errors: FigureReport(errorPage.total, previous: try await previousErrors, rows: Self.rows("errors", lastDay, ["workflow": "SUPPORT"])),
            latestErrors: errorPage.rows
        )
    }

    func sentinel(_ period: DashboardPeriod) async throws -> SentinelReport {
        async let totals = dashboards.alertTotals(period)
        async let previousTotals = dashboards.alertTotals(period.previous)
        async let responsibilities = dashboards.responsibilities(period)
        async let previousResponsibilities = dashboards.responsibilities(period.previous)
        async let clients = dashboards.impactedClients(period, limit: Self.listLength)
        async let series = series(.alerts, period)
        async let timeline = drilldowns.alerts(.init(period: period), limit: Self.listLength, counted: false)
        let current = try await totals
        let before = try await previousTotals
        let counts = try await responsibilities
        let previousCounts = try await previousResponsibilities
        let shares = Responsibility.allCases.map { responsibility in
            let count = counts.first { $0.responsibility == responsibility.rawValue }?.count ?? 0
            return ResponsibilityShare(
                responsibility: responsibility.rawValue,
                alerts: FigureReport(
                    count, previous: previousCounts.first { $0.responsibility == responsibility.rawValue }?.count ?? 0,
                    rows: Self.rows("alerts", period, ["responsibility": responsibility.rawValue])
                ),
                share: current.total == 0 ? 0 : Double(count) / Double(current.total)
            )
        }
        return SentinelReport(
            period: PeriodReport(period),
            alerts: FigureReport(current.total, previous: before.total, rows: Self.rows("alerts", period)),
            open: FigureReport(current.open, previous: before.open, rows: Self.rows("alerts", period, ["state": "open"])),
            diagnosing: FigureReport(current.diagnosing, previous: before.diagnosing, rows: Self.rows("alerts", period, ["state": "diagnosing"])),
            resolved: FigureReport(current.resolved, previous: before.resolved, rows: Self.rows("alerts", period, ["state": "resolved"])),
            responsibilities: shares,
            impactedClients: try await clients.map { client in
                ImpactedClientReport(
                    client: client.client,
                    activeAlerts: FigureReport(client.active, rows: client.active > 0 ? Self.rows("alerts", nil, ["state": "active", "client": client.client]) : nil),
                    diagnosing: client.diagnosing, since: client.since, responsibility: client.responsibility, resolvedAt: client.resolvedAt
                )
            },
            series: try await series, timeline: try await timeline.rows
        )
    }

    func enrichisseur(_ period: DashboardPeriod) async throws -> EnrichisseurReport {
        async let entries = dashboards.knowledgeEntries()
        async let added = dashboards.knowledgeAdded(since: period.from, until: period.to)
        async let previousAdded = dashboards.knowledgeAdded(since: period.previous.from, until: period.previous.to)
        async let sources = dashboards.knowledgeBySource(period)
        async let series = series(.knowledge, period)
        async let runs = dashboards.ingestionRuns(nil, limit: Self.listLength)
        async let rag = dashboards.ragUse(period)
        async let previousRAG = dashboards.ragUse(period.previous)
        async let obsolete = dashboards.obsoleteSources(limit: Self.listLength)
        let use = try await rag
        let previousUse = try await previousRAG
        let flagged = try await obsolete
        return EnrichisseurReport(
            period: PeriodReport(period), entries: try await entries, added: FigureReport(try await added, previous: try await previousAdded),
            sources: try await sources.map { KnowledgeSourceReport(source: $0.source, entries: $0.entries, added: $0.added) },
            series: try await series, runs: try await runs.map(IngestionRunReport.init),
            assistantAnswers: FigureReport(use.answers, previous: previousUse.answers),
            answersWithSources: FigureReport(use.withSources, previous: previousUse.withSources),
            obsolete: flagged.total,
            obsoleteSources: flagged.first.map {
                ObsoleteSourceReport(id: $0.id, title: $0.title, client: $0.client, reports: $0.reports, lastReportedAt: $0.lastReportedAt)
            }
        )
    }

    func safeguard(_ period: DashboardPeriod) async throws -> SafeguardDashboardReport {
        async let pending = dashboards.pendingApprovals(limit: Self.listLength)
        async let totals = dashboards.approvalTotals(period)
        async let previousTotals = dashboards.approvalTotals(period.previous)
        async let top = dashboards.topActions(period, limit: 5)
        async let series = series(.approvals, period)
        let current = try await totals
        let before = try await previousTotals
        let waiting = try await pending
        return SafeguardDashboardReport(
            period: PeriodReport(period),
            pending: FigureReport(waiting.total, rows: "/api/supervision/approvals?outcome=pending"),
            pendingFirst: waiting.first.map {
                PendingApprovalReport(approvalID: $0.approvalID, tool: $0.tool, level: $0.level, client: $0.client, createdAt: $0.createdAt, expiresAt: $0.expiresAt)
            },
            requests: FigureReport(current.total, previous: before.total, rows: Self.rows("approvals", period)),
            approved: FigureReport(current.approved, previous: before.approved, rows: Self.rows("approvals", period, ["outcome": "approved"])),
            rejected: FigureReport(current.rejected, previous: before.rejected, rows: Self.rows("approvals", period, ["outcome": "rejected"])),
            expired: FigureReport(current.expired, previous: before.expired, rows: Self.rows("approvals", period, ["outcome": "expired"])),
            averageResponseSeconds: current.averageSeconds.map { $0.rounded() }, p90ResponseSeconds: current.p90Seconds.map { $0.rounded() },
            topActions: try await top.map { item in
                ToolShare(
                    tool: item.tool, requests: FigureReport(item.count, rows: Self.rows("approvals", period, ["tool": item.tool])),
                    share: current.total == 0 ? 0 : Double(item.count) / Double(current.total)
                )
            },
            series: try await series
        )
    }

    // MARK: Timeline

    func timeline(correlationID: String?, ticketID: String?, alertID: String?) async throws -> [TimelineEntryReport] {
        try await drilldowns.timeline(correlationID: correlationID, ticketID: ticketID, alertID: alertID, limit: 500).map(Self.timelineEntry)
    }

    // MARK: Helpers

    /// The API path listing the rows of a figure: the period as exact times, so the list is the one counted even
    /// when it is opened later.
    static func rows(_ dataset: String, _ period: DashboardPeriod?, _ filters: [String: String] = [:]) -> String {
        var items: [URLQueryItem] = []
        if let period { items += [URLQueryItem(name: "from", value: FrenchFormat.iso(period.from)), URLQueryItem(name: "to", value: FrenchFormat.iso(period.to))] }
        items += filters.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        var components = URLComponents()
        components.path = "/api/supervision/\(dataset)"
        components.queryItems = items.isEmpty ? nil : items
        // `+` in a time zone offset or a name would read as a space in a form-encoded query.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return components.string ?? components.path
    }

    private func startOfDay(_ date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.startOfDay(for: date)
    }

    /// Counts per hour (a period of two days or less) or per day, every bucket present, empty ones at zero.
    func series(_ dataset: DashboardRepository.Dataset, _ period: DashboardPeriod) async throws -> [SeriesPoint] {
        let unit = Self.bucketUnit(from: period.from, to: period.to)
        let counts = try await dashboards.buckets(of: dataset, period, unit: unit, timeZone: timeZone)
        let byKey = Dictionary(counts.map { ($0.key, $0.count) }, uniquingKeysWith: +)
        return Self.bucketKeys(period, unit: unit, timeZone: timeZone).map { SeriesPoint(bucket: $0, count: byKey[$0] ?? 0) }
    }

    /// Columns per hour for a period of two days or less, per day beyond.
    static func bucketUnit(from: Date, to: Date) -> DashboardRepository.BucketUnit {
        to.timeIntervalSince(from) <= 2 * 86_400 ? .hour : .day
    }

    static func bucketKeys(_ period: DashboardPeriod, unit: DashboardRepository.BucketUnit, timeZone: TimeZone) -> [String] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var start = unit == .day ? calendar.startOfDay(for: period.from) : calendar.dateInterval(of: .hour, for: period.from)?.start ?? period.from
        var keys: [String] = []
        while start < period.to && keys.count < 24 * 400 {
            let parts = calendar.dateComponents([.year, .month, .day, .hour], from: start)
            let key = String(format: "%04d-%02d-%02dT%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, unit == .day ? 0 : parts.hour ?? 0)
            // The hour repeated when clocks go back is one bucket, as Postgres groups it.
            if keys.last != key { keys.append(key) }
            start = unit == .day ? calendar.date(byAdding: .day, value: 1, to: start) ?? period.to : start.addingTimeInterval(3600)
        }
        return keys
    }

    static func health(_ row: DashboardRepository.HealthRow) -> DependencyHealth {
        DependencyHealth(dependency: row.dependency, status: row.status, since: row.since, latencyMs: row.latencyMs, detail: row.detail, checkedAt: row.checkedAt)
    }

    static let outcomeLabels = ["resolu": "résolu", "en_cours": "en cours", "escalade": "escaladé"]
    static let decisionLabels = ["approved": "approuvée", "rejected": "rejetée", "expired": "expirée", "pending": "en attente"]

    static func activity(_ row: DashboardRepository.ActivityRow) -> ActivityItem {
        let reference = row.reference ?? "?"
        let client = row.client.map { " — \($0)" } ?? ""
        let (text, link, tone): (String, String?, String)
        switch row.kind {
        case "ticket":
            let outcome = row.state ?? "en_cours"
            text = "Ticket #\(reference) (\(row.subject ?? "AUTRE")) \(outcomeLabels[outcome] ?? outcome)\(client)"
            link = row.reference.map { "/supervision/suivi?ticket=\(percentEncoded($0))" }
            tone = outcome == "resolu" ? "ok" : outcome == "escalade" ? "warning" : "info"
        case "alert":
            text = "Alerte : \(row.subject ?? reference) (\(row.state ?? "Indéterminé"))\(client)"
            link = row.reference.map { "/supervision/suivi?alerte=\(percentEncoded($0))" }
            tone = "critical"
        case "recovery":
            text = "Rétabli : \(row.subject ?? reference)\(client)"
            link = row.reference.map { "/supervision/suivi?alerte=\(percentEncoded($0))" }
            tone = "ok"
        case "request":
            text = "Demande \(reference) : \(row.subject ?? "?") (\(row.state ?? "L3"))\(client)"
            link = row.reference.map { "/safeguard/\(percentEncoded($0))" }
            tone = "info"
        case "decision":
            let outcome = row.state ?? "pending"
            text = "\(reference) \(decisionLabels[outcome] ?? outcome) : \(row.subject ?? "?")\(client)"
            link = row.reference.map { "/safeguard/\(percentEncoded($0))" }
            tone = outcome == "approved" ? "ok" : outcome == "rejected" ? "critical" : "neutral"
        case "error":
            text = "Erreur : \(row.subject ?? "?")\(row.state.map { " (\($0))" } ?? "")\(row.reference.map { " — #\($0)" } ?? "")"
            link = nil
            tone = "warning"
        default:
            let status = ["success": "réussie", "partial": "partielle", "failed": "échouée"][row.state ?? ""] ?? (row.state ?? "")
            text = "Ingestion \(row.subject ?? "?") \(status)"
            link = "/supervision/enrichisseur"
            tone = row.state == "success" ? "ok" : row.state == "failed" ? "critical" : "warning"
        }
        return ActivityItem(at: row.at, workflow: row.workflow, kind: row.kind, reference: row.reference, client: row.client, text: text, link: link, tone: tone)
    }

    static func timelineEntry(_ entry: DrilldownRepository.TimelineEntry) -> TimelineEntryReport {
        let reference = entry.reference ?? "?"
        let (text, link, tone): (String, String?, String)
        switch entry.kind {
        case "alert":
            text = "Alerte Observium \(reference) : \(entry.subject ?? "?")\(entry.detail.map { " — \($0)" } ?? "")"
            (link, tone) = ("/supervision/suivi?alerte=\(percentEncoded(reference))", "critical")
        case "step":
            (text, link, tone) = (entry.detail ?? "Étape", nil, "info")
        case "recovery":
            (text, link, tone) = ("Rétabli : \(entry.subject ?? reference) (responsabilité : \(entry.detail ?? "Indéterminé"))", nil, "ok")
        case "ticket":
            let outcome = entry.state ?? "en_cours"
            text = "Ticket #\(reference) (\(entry.subject ?? "AUTRE")) \(outcomeLabels[outcome] ?? outcome)\(entry.detail.map { " : \($0)" } ?? "")"
            (link, tone) = ("/supervision/suivi?ticket=\(percentEncoded(reference))", outcome == "escalade" ? "warning" : outcome == "resolu" ? "ok" : "info")
        case "error":
            text = "Erreur\(entry.subject.map { " (\($0))" } ?? "") : \(entry.detail ?? "?")\(entry.state == "recovered" ? " — reprise réussie" : "")"
            (link, tone) = (nil, entry.state == "recovered" ? "info" : "warning")
        case "request":
            text = "Demande SAFEGUARD \(reference) : \(entry.subject ?? "?") (\(entry.detail ?? "L3"))"
            (link, tone) = ("/safeguard/\(percentEncoded(reference))", "info")
        case "decision":
            let outcome = entry.state ?? "pending"
            text = "\(reference) \(decisionLabels[outcome] ?? outcome)\(entry.detail.map { " : \($0)" } ?? "")"
            (link, tone) = ("/safeguard/\(percentEncoded(reference))", outcome == "approved" ? "ok" : outcome == "rejected" ? "critical" : "neutral")
        default:
            let failed = entry.state == "failed"
            text = failed ? "Exécution de \(entry.subject ?? "?") en échec : \(entry.detail ?? "erreur inconnue")" : "\(entry.subject ?? "?") exécutée"
            (link, tone) = ("/safeguard/\(percentEncoded(reference))", failed ? "critical" : "ok")
        }
        return TimelineEntryReport(
            at: entry.at, source: entry.source, kind: entry.kind, reference: entry.reference, text: text, link: link, tone: tone, correlationID: entry.correlationID
        )
    }

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}
