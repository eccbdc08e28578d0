import Foundation
import Hummingbird

/// The SUPERVISION pages (PRD 3.3): five dashboards sharing a tab row and a period selector, the rows behind each
/// figure, and the timeline of a ticket or an alert. They render the API's reports; `supervision-live.js` refreshes
/// their live regions when an event arrives (or every 30 s of polling while the socket is down).
struct SupervisionPages {
    static let accessRules = [
        "/supervision", "/supervision/support", "/supervision/sentinel", "/supervision/enrichisseur", "/supervision/safeguard",
        "/supervision/tickets", "/supervision/alertes", "/supervision/approbations", "/supervision/erreurs", "/supervision/suivi",
    ].map { RouteRule(.get, $0, .level(.n3)) }

    let supervision: SupervisionService
    let pages: Pages
    var format: FrenchFormat { pages.format }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("/supervision") { request, context in
            try await dashboard(request, context, title: "Vue d'ensemble", path: "/supervision") { period, now in
                OverviewPage.Body(try await supervision.overview(period, now: now), format: format, now: now)
            }
        }
        group.get("/supervision/support") { request, context in
            try await dashboard(request, context, title: "SUPPORT", path: "/supervision/support") { period, now in
                SupportPage.Body(try await supervision.support(period, now: now), format: format, now: now)
            }
        }
        group.get("/supervision/sentinel") { request, context in
            try await dashboard(request, context, title: "SENTINEL", path: "/supervision/sentinel") { period, now in
                SentinelPage.Body(try await supervision.sentinel(period), format: format, now: now)
            }
        }
        group.get("/supervision/enrichisseur") { request, context in
            try await dashboard(request, context, title: "ENRICHISSEUR", path: "/supervision/enrichisseur", fallback: .week) { period, now in
                EnrichisseurPage.Body(try await supervision.enrichisseur(period), format: format, now: now)
            }
        }
        group.get("/supervision/safeguard") { request, context in
            try await dashboard(request, context, title: "SAFEGUARD", path: "/supervision/safeguard", fallback: .week) { period, now in
                SafeguardAnalyticsPage.Body(try await supervision.safeguard(period), format: format, now: now)
            }
        }
        group.get("/supervision/tickets") { request, context in try await rows(request, context, dataset: .tickets) }
        group.get("/supervision/alertes") { request, context in try await rows(request, context, dataset: .alerts) }
        group.get("/supervision/approbations") { request, context in try await rows(request, context, dataset: .approvals) }
        group.get("/supervision/erreurs") { request, context in try await rows(request, context, dataset: .errors) }
        group.get("/supervision/suivi") { request, context in try await timeline(request, context) }
    }

    // MARK: Dashboards

    /// A dashboard page: its body is one of the five; a bad period shows the page with the message and the default
    /// period rather than an error page.
    private func dashboard<Body: Sendable>(
        _ request: Request, _ context: AuthenticatedContext, title: String, path: String, fallback: DashboardPeriod.Preset = .day,
        body: (DashboardPeriod, Date) async throws -> Body
    ) async throws -> Response {
        let now = Date()
        let query = request.formQuery
        var period: DashboardPeriod
        var error: String?
        do {
            period = try DashboardPeriod.parse(query, now: now, timeZone: format.timeZone, fallback: fallback)
        } catch let refused as AppError {
            error = refused.message
            period = try DashboardPeriod.parse([:], now: now, timeZone: format.timeZone, fallback: fallback)
        }
        let header = SupervisionHeader(path: path, period: period, query: error == nil ? query : [:], fallback: fallback, format: format, error: error)
        let chrome = await chrome("Supervision — \(title)", context)
        let content = try await body(period, now)
        return try pages.response(DashboardPage(chrome: chrome, title: title, header: header, body: content), status: error == nil ? .ok : .badRequest)
    }

    private func chrome(_ title: String, _ context: AuthenticatedContext) async -> Chrome {
        var chrome = await pages.chrome(title, context, current: "/supervision")
        chrome.follow(.supervision)
        chrome.scripts.append("supervision-live.js")
        return chrome
    }

    // MARK: Drill-downs

    enum Dataset: String, Sendable {
        case tickets, alerts, approvals, errors

        var page: String {
            switch self {
            case .tickets: "/supervision/tickets"
            case .alerts: "/supervision/alertes"
            case .approvals: "/supervision/approbations"
            case .errors: "/supervision/erreurs"
            }
        }
    }

    /// The page of the rows an API figure links to (`/api/supervision/alerts?…` → `/supervision/alertes?…`).
    static func page(ofRows apiPath: String?) -> String? {
        guard let apiPath, var components = URLComponents(string: apiPath) else { return nil }
        let name = components.path.replacingOccurrences(of: "/api/supervision/", with: "")
        guard let dataset = Dataset(rawValue: name) else { return nil }
        components.path = dataset.page
        return components.string
    }

    private func rows(_ request: Request, _ context: AuthenticatedContext, dataset: Dataset) async throws -> Response {
        let query = request.formQuery
        let periodGiven = [query["period"], query["from"], query["to"]].contains { $0?.isEmpty == false }
        let period = periodGiven ? try DashboardPeriod.parse(query, now: Date(), timeZone: format.timeZone) : nil
        let limit = SupervisionController.defaultRows
        var filters: [String] = period.map { ["Période : \($0.label(format))"] } ?? ["Toute la période enregistrée"]
        let table: RowsTable
        switch dataset {
        case .tickets:
            let filter = try SupervisionController.ticketFilter(query, period: period)
            filters += [filter.category.map { "Catégorie : \($0.rawValue)" }, filter.outcome.map { "Résultat : \(SupervisionService.outcomeLabels[$0.rawValue] ?? "")" },
                filter.autoResolved.map { $0 ? "Auto-résolus" : "Non auto-résolus" }, filter.client.map { "Client : \($0)" }].compactMap { $0 }
            let page = try await supervision.drilldowns.tickets(filter, limit: limit)
            table = RowsTable.tickets(page, format: format)
        case .alerts:
            let filter = try SupervisionController.alertFilter(query, period: period)
            filters += [filter.state.map { "État : \(Self.alertStateLabels[$0.rawValue] ?? $0.rawValue)" },
                filter.responsibility.map { "Responsabilité : \($0.rawValue)" }, filter.client.map { "Client : \($0)" }].compactMap { $0 }
            let page = try await supervision.drilldowns.alerts(filter, limit: limit)
            table = RowsTable.alerts(page, format: format)
        case .approvals:
            let filter = try SupervisionController.approvalFilter(query, period: period)
            filters += [filter.outcome.map { "Issue : \(SupervisionService.decisionLabels[$0.rawValue] ?? $0.rawValue)" }, filter.tool.map { "Outil : \($0)" }]
                .compactMap { $0 }
            let page = try await supervision.drilldowns.approvals(filter, limit: limit)
            table = RowsTable.approvals(page, format: format)
        case .errors:
            let workflow = try SupervisionController.text(query, "workflow", limit: 50)
            filters += [workflow.map { "Workflow : \($0)" }].compactMap { $0 }
            let page = try await supervision.drilldowns.errors(.init(period: period, workflow: workflow), limit: limit)
            table = RowsTable.errors(page, format: format)
        }
        var csv = URLComponents()
        csv.path = "/api/supervision/\(dataset.rawValue)"
        csv.queryItems = query.filter { $0.key != "format" && $0.key != "limit" && !$0.value.isEmpty }.sorted { $0.key < $1.key }
            .map { URLQueryItem(name: $0.key, value: $0.value) } + [URLQueryItem(name: "format", value: "csv")]
        csv.percentEncodedQuery = csv.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return try pages.response(
            RowsPage(
                chrome: await chrome("Supervision — \(table.title)", context), title: table.title, filters: filters, table: table,
                csvHref: csv.string ?? csv.path, back: Self.back(dataset)
            )
        )
    }

    static func back(_ dataset: Dataset) -> NavLink {
        switch dataset {
        case .tickets, .errors: NavLink(label: "Tableau SUPPORT", href: "/supervision/support", current: false)
        case .alerts: NavLink(label: "Tableau SENTINEL", href: "/supervision/sentinel", current: false)
        case .approvals: NavLink(label: "Tableau SAFEGUARD", href: "/supervision/safeguard", current: false)
        }
    }

    static let alertStateLabels = ["open": "En cours", "diagnosing": "Attente diagnostic", "resolved": "Résolue", "active": "Active"]

    // MARK: Timeline

    private func timeline(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let query = request.formQuery
        // The page's own names (French), the API's too.
        var thread = query
        thread["ticket_id"] = query["ticket"] ?? query["ticket_id"]
        thread["alert_id"] = query["alerte"] ?? query["alert_id"]
        thread["correlation_id"] = query["fil"] ?? query["correlation_id"]
        let (correlationID, ticketID, alertID) = try SupervisionController.thread(thread)
        let entries = try await supervision.timeline(correlationID: correlationID, ticketID: ticketID, alertID: alertID)
        let subject = alertID.map { "de l'alerte \($0)" } ?? ticketID.map { "du ticket #\($0)" } ?? "du fil \(correlationID ?? "")"
        return try pages.response(
            TimelinePage(
                chrome: await chrome("Suivi \(subject)", context), title: "Suivi \(subject)",
                entries: entries.map { entry in
                    TimelineItem(
                        time: format.dateTime(entry.at), datetime: FrenchFormat.iso(entry.at), source: entry.source, text: entry.text, href: entry.link,
                        tone: entry.tone, icon: Self.icon(entry.tone)
                    )
                },
                threads: Array(Set(entries.compactMap(\.correlationID))).sorted().joined(separator: ", ")
            )
        )
    }

    /// The marker that says what colour says, for readers who do not see it.
    static func icon(_ tone: String) -> String {
        // Symbols every system font has (an emoji may be missing: a kiosk, a minimal Linux).
        switch tone {
        case "ok": "✓"
        case "warning": "⚠"
        case "critical": "✖"
        case "neutral": "○"
        default: "ℹ"
        }
    }
}

// MARK: Shared view models

/// The tab row of the five dashboards and the period selector, shared by every dashboard.
struct SupervisionHeader: Sendable {
    struct PeriodOption: Sendable {
        let value: String
        let label: String
        let selected: Bool
    }

    let tabs: [Tab]
    let periods: [PeriodOption]
    let custom: Bool
    let from: String
    let to: String
    let periodLabel: String
    let error: String?

    static let dashboards = [
        ("Vue d'ensemble", "/supervision"), ("SUPPORT", "/supervision/support"), ("SENTINEL", "/supervision/sentinel"),
        ("ENRICHISSEUR", "/supervision/enrichisseur"), ("SAFEGUARD", "/supervision/safeguard"),
    ]

    init(path: String, period: DashboardPeriod, query: [String: String], fallback: DashboardPeriod.Preset, format: FrenchFormat, error: String?) {
        // The period follows from one dashboard to the next.
        let kept = [query["period"], query["from"], query["to"]].contains { $0?.isEmpty == false } ? "?" + period.query : ""
        tabs = Self.dashboards.map { Tab(label: $0.0, href: $0.1 + kept, current: $0.1 == path) }
        periods = [("24h", "24 dernières heures"), ("7d", "7 derniers jours"), ("30d", "30 derniers jours"), ("custom", "Dates choisies…")].map {
            PeriodOption(value: $0.0, label: $0.1, selected: $0.0 == period.preset.rawValue)
        }
        custom = period.preset == .custom
        let lastDay = period.to.addingTimeInterval(-1)
        from = custom ? Self.day(period.from, format) : ""
        to = custom ? Self.day(lastDay, format) : ""
        periodLabel = period.label(format)
        self.error = error
    }

    /// `2026-10-25` in the display time zone, for a date input.
    static func day(_ date: Date, _ format: FrenchFormat) -> String {
        let parts = format.day(date).split(separator: "/")
        return parts.count == 3 ? "\(parts[2])-\(parts[1])-\(parts[0])" : ""
    }
}

/// A KPI card: its value links to the rows behind it, its trend says the change in words as well as with an arrow.
struct KPICard: Sendable {
    let id: String
    let label: String
    let value: String
    let href: String?
    let trend: Trend?
    let note: String?
    let sparkline: Sparkline?
    let tone: String

    struct Trend: Sendable {
        let arrow: String
        let text: String
        let description: String
        let direction: String
    }

    init(id: String, label: String, value: String, figure: FigureReport? = nil, note: String? = nil, sparkline: Sparkline? = nil, tone: String = "neutral",
         format: FrenchFormat) {
        self.id = id
        self.label = label
        self.value = value
        href = SupervisionPages.page(ofRows: figure?.rows)
        trend = figure.flatMap { Self.trend($0, format: format) }
        self.note = note
        self.sparkline = sparkline
        self.tone = tone
    }

    static func trend(_ figure: FigureReport, format: FrenchFormat) -> Trend? {
        guard let previous = figure.previous else { return nil }
        guard let change = figure.change else {
            return figure.value > 0
                ? Trend(arrow: "↑", text: "nouveau", description: "aucun sur la période précédente", direction: "up")
                : Trend(arrow: "→", text: "stable", description: "aucun sur cette période ni la précédente", direction: "flat")
        }
        let percent = format.percent(abs(change) / 100)
        if change > 0 { return Trend(arrow: "↑", text: percent, description: "en hausse de \(percent) (\(format.integer(previous)) avant)", direction: "up") }
        if change < 0 { return Trend(arrow: "↓", text: percent, description: "en baisse de \(percent) (\(format.integer(previous)) avant)", direction: "down") }
        return Trend(arrow: "→", text: "0 %", description: "comme sur la période précédente", direction: "flat")
    }
}

struct FeedItem: Sendable {
    let key: String
    let time: String
    let datetime: String
    let workflow: String
    let text: String
    let href: String?
    let tone: String
    let icon: String

    init(_ item: ActivityItem, format: FrenchFormat) {
        key = "\(item.kind)-\(item.reference ?? "")-\(FrenchFormat.iso(item.at))"
        time = format.time(item.at)
        datetime = FrenchFormat.iso(item.at)
        workflow = item.workflow
        text = item.text
        href = item.link
        tone = item.tone
        icon = SupervisionPages.icon(item.tone)
    }
}

struct DashboardPage<Body: Sendable>: PageModel {
    static var template: String {
        switch Body.self {
        case is OverviewPage.Body.Type: "supervision/overview"
        case is SupportPage.Body.Type: "supervision/support"
        case is SentinelPage.Body.Type: "supervision/sentinel"
        case is EnrichisseurPage.Body.Type: "supervision/enrichisseur"
        default: "supervision/safeguard"
        }
    }

    let chrome: Chrome
    let title: String
    let header: SupervisionHeader
    let body: Body
}

func series(_ points: [SeriesPoint], of period: PeriodReport, caption: String, unit: @escaping (Int) -> String, format: FrenchFormat) -> ColumnChart {
    let hourly = SupervisionService.bucketUnit(from: period.from, to: period.to) == .hour
    return ColumnChart(
        caption: caption,
        points: points.map { point in
            let labels = ColumnChart.labels(point.bucket, hourly: hourly)
            return (labels.short, labels.long, point.count)
        },
        unit: unit, format: format
    )
}

/// "1 ticket", "12 tickets".
func counted(_ singular: String, _ plural: String, format: FrenchFormat) -> (Int) -> String {
    { count in count == 1 ? "1 \(singular)" : "\(format.integer(count)) \(plural)" }
}

// MARK: Overview

enum OverviewPage {
    struct Body: Sendable {
        let kpis: [KPICard]
        let health: [HealthItem]
        let healthEmpty: Bool
        let activity: [FeedItem]
        let tickets: ColumnChart
        let alerts: ColumnChart

        init(_ report: OverviewReport, format: FrenchFormat, now: Date) {
            let tickets = counted("ticket", "tickets", format: format)
            let alerts = counted("alerte", "alertes", format: format)
            kpis = [
                KPICard(
                    id: "kpi-tickets", label: "Tickets traités", value: format.integer(report.tickets.value), figure: report.tickets,
                    sparkline: Sparkline(report.ticketSeries.map(\.count), title: "Tickets sur la période"), format: format
                ),
                KPICard(
                    id: "kpi-alerts", label: "Alertes", value: format.integer(report.alerts.value), figure: report.alerts,
                    sparkline: Sparkline(report.alertSeries.map(\.count), title: "Alertes sur la période"), tone: report.alerts.value > 0 ? "warning" : "neutral",
                    format: format
                ),
                KPICard(
                    id: "kpi-approvals", label: "Approbations en attente", value: format.integer(report.approvalsPending.value), figure: report.approvalsPending,
                    note: report.approvalsPending.value == 0 ? "Aucune demande en attente" : nil, tone: report.approvalsPending.value > 0 ? "info" : "neutral",
                    format: format
                ),
                KPICard(
                    id: "kpi-knowledge", label: "Base de connaissances", value: format.integer(report.knowledgeEntries),
                    note: "+\(format.integer(report.knowledgeAddedToday)) aujourd'hui", format: format
                ),
            ]
            health = report.health.map { HealthItem($0, format: format, now: now) }
            healthEmpty = report.health.isEmpty
            activity = report.activity.map { FeedItem($0, format: format) }
            self.tickets = series(report.ticketSeries, of: report.period, caption: "Tickets traités", unit: tickets, format: format)
            self.alerts = series(report.alertSeries, of: report.period, caption: "Alertes", unit: alerts, format: format)
        }
    }

    struct HealthItem: Sendable {
        let label: String
        let status: String
        let tone: String
        let icon: String
        let since: String
        let latency: String?
        let detail: String?

        static let names = [
            "database": "PostgreSQL", "postgresql": "PostgreSQL", "mcp": "Serveur MCP", "llm": "Modèle de langage", "embeddings": "Embeddings",
            "glpi": "GLPI", "observium": "Observium",
        ]

        init(_ health: DependencyHealth, format: FrenchFormat, now: Date) {
            let name = health.dependency.hasPrefix("llm-") ? "LLM \(health.dependency.dropFirst(4))" : Self.names[health.dependency] ?? health.dependency
            label = name
            (status, tone) = switch health.status {
            case "ok": ("OK", "ok")
            case "degraded": ("Dégradé", "warning")
            case "down": ("En panne", "critical")
            default: ("Inconnu", "neutral")
            }
            icon = SupervisionPages.icon(tone)
            since = "depuis " + format.relativeInSentence(health.since, now: now)
            latency = health.latencyMs.map { "\(format.integer($0)) ms" }
            detail = health.detail
        }
    }
}

// MARK: SUPPORT

enum SupportPage {
    struct Body: Sendable {
        let kpis: [KPICard]
        let categories: [CategoryRow]
        let chart: ColumnChart
        let latest: [TicketLine]
        let errors: [ErrorLine]
        let errorsHref: String?

        init(_ report: SupportReport, format: FrenchFormat, now: Date) {
            let total = report.tickets.value
            let rate = total == 0 ? "—" : format.percent(Double(report.autoResolved.value) / Double(total))
            kpis = [
                KPICard(id: "kpi-tickets", label: "Tickets traités", value: format.integer(total), figure: report.tickets,
                        sparkline: Sparkline(report.series.map(\.count), title: "Tickets sur la période"), format: format),
                KPICard(id: "kpi-auto", label: "Résolus automatiquement", value: format.integer(report.autoResolved.value), figure: report.autoResolved,
                        note: "\(rate) des tickets", tone: "ok", format: format),
                KPICard(id: "kpi-escalated", label: "Escaladés", value: format.integer(report.escalated.value), figure: report.escalated,
                        tone: report.escalated.value > 0 ? "warning" : "neutral", format: format),
                KPICard(id: "kpi-errors", label: "Erreurs (24 h)", value: format.integer(report.errors.value), figure: report.errors,
                        tone: report.errors.value > 0 ? "critical" : "neutral", format: format),
            ]
            let top = max(1, report.categories.map(\.tickets.value).max() ?? 0)
            categories = report.categories.map { category in
                CategoryRow(
                    category: category.category, count: format.integer(category.tickets.value), href: SupervisionPages.page(ofRows: category.tickets.rows),
                    autoRate: category.autoResolutionRate.map(format.percent) ?? "N/A", width: Double(category.tickets.value) / Double(top) * 100,
                    trend: KPICard.trend(category.tickets, format: format)
                )
            }
            chart = series(report.series, of: report.period, caption: "Tickets traités", unit: counted("ticket", "tickets", format: format), format: format)
            latest = report.latest.map { TicketLine($0, format: format, now: now) }
            errors = report.latestErrors.map { ErrorLine($0, format: format) }
            errorsHref = SupervisionPages.page(ofRows: report.errors.rows)
        }
    }

    struct CategoryRow: Sendable {
        let category: String
        let count: String
        let href: String?
        let autoRate: String
        let width: Double
        let trend: KPICard.Trend?
    }

    struct TicketLine: Sendable {
        let time: String
        let datetime: String
        let ticket: String
        let href: String?
        let category: String
        let outcome: String
        let tone: String
        let icon: String
        let client: String
        let action: String?

        init(_ ticket: TicketReport, format: FrenchFormat, now: Date) {
            time = format.relative(ticket.at, now: now)
            datetime = FrenchFormat.iso(ticket.at)
            self.ticket = ticket.ticketID.map { "#\($0)" } ?? "—"
            href = ticket.ticketID.map { "/supervision/suivi?ticket=\(SupervisionService.percentEncoded($0))" }
            category = ticket.category
            outcome = (SupervisionService.outcomeLabels[ticket.outcome] ?? ticket.outcome).atSentenceStart
            tone = ticket.outcome == "resolu" ? "ok" : ticket.outcome == "escalade" ? "warning" : "info"
            icon = SupervisionPages.icon(tone)
            client = ticket.client ?? "Client inconnu"
            action = ticket.action
        }
    }

    struct ErrorLine: Sendable {
        let time: String
        let datetime: String
        let text: String
        let href: String?
        let tone: String
        let icon: String

        init(_ error: ErrorReport, format: FrenchFormat) {
            time = format.time(error.at)
            datetime = FrenchFormat.iso(error.at)
            var text = error.message + (error.tool.map { " (\($0))" } ?? "")
            if let ticket = error.ticketID { text += " — ticket #\(ticket)" }
            if error.recovered { text += error.attempts.map { " — reprise réussie après \($0) tentatives" } ?? " — reprise réussie" }
            self.text = text
            href = error.ticketID.map { "/supervision/suivi?ticket=\(SupervisionService.percentEncoded($0))" }
                ?? error.alertID.map { "/supervision/suivi?alerte=\(SupervisionService.percentEncoded($0))" }
            tone = error.recovered ? "info" : "warning"
            icon = SupervisionPages.icon(tone)
        }
    }
}

// MARK: SENTINEL

enum SentinelPage {
    struct Body: Sendable {
        let kpis: [KPICard]
        let responsibilities: [BarRow]
        let clients: [ClientLine]
        let chart: ColumnChart
        let timeline: [IncidentLine]

        init(_ report: SentinelReport, format: FrenchFormat, now: Date) {
            kpis = [
                KPICard(id: "kpi-alerts", label: "Alertes", value: format.integer(report.alerts.value), figure: report.alerts,
                        sparkline: Sparkline(report.series.map(\.count), title: "Alertes sur la période"), format: format),
                KPICard(id: "kpi-open", label: "En cours", value: format.integer(report.open.value), figure: report.open,
                        tone: report.open.value > 0 ? "critical" : "neutral", format: format),
                KPICard(id: "kpi-diagnosing", label: "Attente diagnostic", value: format.integer(report.diagnosing.value), figure: report.diagnosing,
                        tone: report.diagnosing.value > 0 ? "warning" : "neutral", format: format),
                KPICard(id: "kpi-resolved", label: "Résolues", value: format.integer(report.resolved.value), figure: report.resolved, tone: "ok", format: format),
            ]
            responsibilities = BarRow.rows(
                report.responsibilities.map { ($0.responsibility, $0.alerts.value, $0.share, SupervisionPages.page(ofRows: $0.alerts.rows), Self.tone($0.responsibility)) },
                unit: counted("alerte", "alertes", format: format), format: format
            )
            clients = report.impactedClients.map { ClientLine($0, format: format, now: now) }
            chart = series(report.series, of: report.period, caption: "Alertes", unit: counted("alerte", "alertes", format: format), format: format)
            timeline = report.timeline.map { IncidentLine($0, format: format) }
        }

        static func tone(_ responsibility: String) -> String {
            switch responsibility {
            case "FAI": "info"
            case "Local": "warning"
            case "WIDIP": "critical"
            default: "neutral"
            }
        }
    }

    struct ClientLine: Sendable {
        let client: String
        let text: String
        let href: String?
        let tone: String
        let icon: String

        init(_ client: ImpactedClientReport, format: FrenchFormat, now: Date) {
            self.client = client.client
            href = SupervisionPages.page(ofRows: client.activeAlerts.rows)
            let elapsed = format.elapsed(Int(now.timeIntervalSince(client.since)))
            if let resolved = client.resolvedAt {
                text = "Résolu \(format.relativeInSentence(resolved, now: now)) (était \(client.responsibility))"
                tone = "ok"
            } else if client.diagnosing == client.activeAlerts.value {
                let alerts = client.activeAlerts.value == 1 ? "1 alerte" : "\(client.activeAlerts.value) alertes"
                text = "\(alerts) en attente de diagnostic (depuis \(elapsed))"
                tone = "warning"
            } else {
                let alerts = client.activeAlerts.value == 1 ? "1 alerte active" : "\(client.activeAlerts.value) alertes actives"
                text = "\(alerts) (\(client.responsibility) depuis \(elapsed))"
                tone = "critical"
            }
            icon = SupervisionPages.icon(tone)
        }
    }

    struct IncidentLine: Sendable {
        let time: String
        let datetime: String
        let device: String
        let verdict: String
        let href: String?
        let steps: [Step]
        let outcome: String?
        let tone: String
        let icon: String

        struct Step: Sendable {
            let text: String
            /// Empty when the step's time cannot be read (a section on a missing value would show the incident's).
            let time: String
            var hasTime: Bool { !time.isEmpty }
        }

        init(_ alert: AlertReportRow, format: FrenchFormat) {
            time = format.time(alert.detectedAt)
            datetime = FrenchFormat.iso(alert.detectedAt)
            device = [alert.device ?? "Équipement inconnu", alert.client.map { "(\($0))" }].compactMap { $0 }.joined(separator: " ")
            verdict = alert.responsibility + (alert.confidence.map { ", \($0) %" } ?? "")
            href = alert.alertID.map { "/supervision/suivi?alerte=\(SupervisionService.percentEncoded($0))" }
            steps = alert.timeline.map { step in
                Step(text: step.text, time: StrictDate.parse(step.at, dayIn: format.timeZone).map(format.time) ?? "")
            }
            if let resolved = alert.resolvedAt {
                outcome = "Résolu à \(format.time(resolved))"
                tone = "ok"
            } else {
                outcome = alert.state == "diagnosing" ? "En attente de la réponse #DIAG" : "En cours"
                tone = alert.state == "diagnosing" ? "warning" : "critical"
            }
            icon = SupervisionPages.icon(tone)
        }
    }
}

// MARK: ENRICHISSEUR

enum EnrichisseurPage {
    struct Body: Sendable {
        let kpis: [KPICard]
        let sources: [BarRow]
        let chart: ColumnChart
        let runs: [RunLine]
        let obsolete: [ObsoleteLine]

        static let sourceLabels = ["procedure": "Procédures", "ticket": "Tickets résolus", "documentation": "Documentation client"]

        init(_ report: EnrichisseurReport, format: FrenchFormat, now: Date) {
            let answers = report.assistantAnswers.value
            let ragRate = answers == 0 ? "—" : format.percent(Double(report.answersWithSources.value) / Double(answers))
            kpis = [
                KPICard(id: "kpi-entries", label: "Entrées de la base", value: format.integer(report.entries), format: format),
                KPICard(id: "kpi-added", label: "Ajoutées sur la période", value: "+" + format.integer(report.added.value), figure: report.added,
                        sparkline: Sparkline(report.series.map(\.count), title: "Ajouts sur la période"), tone: "ok", format: format),
                KPICard(id: "kpi-rag", label: "Réponses avec sources", value: ragRate, figure: report.answersWithSources,
                        note: "\(format.integer(report.answersWithSources.value)) sur \(format.integer(answers)) réponses", format: format),
                KPICard(id: "kpi-obsolete", label: "Sources signalées obsolètes", value: format.integer(report.obsolete),
                        tone: report.obsolete > 0 ? "warning" : "neutral", format: format),
            ]
            let total = max(1, report.entries)
            sources = BarRow.rows(
                report.sources.map { (Self.sourceLabels[$0.source] ?? $0.source, $0.entries, Double($0.entries) / Double(total), nil, "info") },
                unit: counted("entrée", "entrées", format: format), format: format
            )
            chart = series(report.series, of: report.period, caption: "Entrées ajoutées", unit: counted("entrée", "entrées", format: format), format: format)
            runs = report.runs.map { run in
                RunLine(
                    time: format.relative(run.finishedAt, now: now), datetime: FrenchFormat.iso(run.finishedAt), workflow: run.workflow, source: run.source,
                    status: ["success": "Réussie", "partial": "Partielle", "failed": "Échouée"][run.status] ?? run.status,
                    tone: run.status == "success" ? "ok" : run.status == "failed" ? "critical" : "warning",
                    changes: "+\(format.integer(run.added)) / ~\(format.integer(run.updated)) / −\(format.integer(run.removed))",
                    duration: format.duration(Int(run.finishedAt.timeIntervalSince(run.startedAt))), error: run.error
                )
            }
            obsolete = report.obsoleteSources.map { source in
                ObsoleteLine(
                    title: source.title, client: source.client, reports: source.reports == 1 ? "1 signalement" : "\(source.reports) signalements",
                    last: format.relative(source.lastReportedAt, now: now)
                )
            }
        }
    }

    struct RunLine: Sendable {
        let time: String
        let datetime: String
        let workflow: String
        let source: String
        let status: String
        let tone: String
        let changes: String
        let duration: String
        let error: String?
    }

    struct ObsoleteLine: Sendable {
        let title: String
        let client: String?
        let reports: String
        let last: String
    }
}

// MARK: SAFEGUARD

enum SafeguardAnalyticsPage {
    struct Body: Sendable {
        let kpis: [KPICard]
        let pending: [PendingLine]
        let pendingCount: String
        let average: String
        let p90: String
        let actions: [BarRow]
        let chart: ColumnChart

        init(_ report: SafeguardDashboardReport, format: FrenchFormat, now: Date) {
            let total = report.requests.value
            func share(_ count: Int) -> String { total == 0 ? "—" : format.percent(Double(count) / Double(total)) }
            kpis = [
                KPICard(id: "kpi-requests", label: "Demandes", value: format.integer(total), figure: report.requests,
                        sparkline: Sparkline(report.series.map(\.count), title: "Demandes sur la période"), format: format),
                KPICard(id: "kpi-approved", label: "Approuvées", value: format.integer(report.approved.value), figure: report.approved,
                        note: share(report.approved.value), tone: "ok", format: format),
                KPICard(id: "kpi-rejected", label: "Rejetées", value: format.integer(report.rejected.value), figure: report.rejected,
                        note: share(report.rejected.value), tone: "critical", format: format),
                KPICard(id: "kpi-expired", label: "Expirées", value: format.integer(report.expired.value), figure: report.expired,
                        note: share(report.expired.value), tone: "neutral", format: format),
            ]
            pending = report.pendingFirst.map { PendingLine($0, format: format, now: now) }
            pendingCount = report.pending.value == 0 ? "Aucune demande en attente"
                : report.pending.value == 1 ? "1 demande en attente" : "\(format.integer(report.pending.value)) demandes en attente"
            average = report.averageResponseSeconds.map { format.duration(Int($0)) } ?? "—"
            p90 = report.p90ResponseSeconds.map { format.duration(Int($0)) } ?? "—"
            actions = BarRow.rows(
                report.topActions.map { ($0.tool, $0.requests.value, $0.share, SupervisionPages.page(ofRows: $0.requests.rows), "info") },
                unit: counted("demande", "demandes", format: format), format: format
            )
            chart = series(report.series, of: report.period, caption: "Demandes", unit: counted("demande", "demandes", format: format), format: format)
        }
    }

    struct PendingLine: Sendable {
        let id: String
        let href: String
        let tool: String
        let client: String?
        let expires: String
        let expiresAt: String
        let tone: String
        let icon: String

        init(_ pending: PendingApprovalReport, format: FrenchFormat, now: Date) {
            id = pending.approvalID
            href = "/safeguard/\(SupervisionService.percentEncoded(pending.approvalID))"
            tool = pending.tool
            client = pending.client
            let left = Int(pending.expiresAt.timeIntervalSince(now))
            expires = left <= 0 ? "Expirée" : "Expire dans \(format.duration(left))"
            expiresAt = FrenchFormat.iso(pending.expiresAt)
            tone = left < 15 * 60 ? "critical" : left < 50 * 60 ? "warning" : "ok"
            icon = SupervisionPages.icon(tone)
        }
    }
}

// MARK: Rows and timeline

struct RowsTable: Sendable {
    struct Cell: Sendable {
        let text: String
        let href: String?
        /// Its column's name, shown beside it on a phone.
        var label = ""
    }

    struct Row: Sendable {
        let cells: [Cell]
    }

    let title: String
    let total: String
    let columns: [String]
    let rows: [Row]
    let truncated: String?
    let empty: String

    init<Item>(title: String, noun: (Int) -> String, page: DrilldownRepository.Page<Item>, columns: [String], empty: String, format: FrenchFormat,
               cells: (Item) -> [Cell]) {
        self.title = title
        total = noun(page.total)
        self.columns = columns
        rows = page.rows.map { item in
            Row(cells: zip(columns, cells(item)).map { column, cell in Cell(text: cell.text, href: cell.href, label: column) })
        }
        truncated = page.rows.count < page.total
            ? "Les \(format.integer(page.rows.count)) plus récentes sont affichées : exportez le CSV pour toutes les voir." : nil
        self.empty = empty
    }

    static func cell(_ text: String?, href: String? = nil) -> Cell {
        Cell(text: text ?? "—", href: href)
    }

    static func tickets(_ page: DrilldownRepository.Page<TicketReport>, format: FrenchFormat) -> RowsTable {
        RowsTable(
            title: "Tickets traités", noun: counted("ticket", "tickets", format: format), page: page,
            columns: ["Date", "Ticket", "Catégorie", "Résultat", "Auto-résolu", "Client", "Action"], empty: "Aucun ticket pour ces critères.",
            format: format
        ) { row in
            [
                cell(format.dateTime(row.at)),
                cell(row.ticketID.map { "#\($0)" }, href: row.ticketID.map { "/supervision/suivi?ticket=\(SupervisionService.percentEncoded($0))" }),
                cell(row.category), cell((SupervisionService.outcomeLabels[row.outcome] ?? row.outcome).atSentenceStart),
                cell(row.autoResolved.map { $0 ? "oui" : "non" }), cell(row.client), cell(row.action ?? row.error),
            ]
        }
    }

    static func alerts(_ page: DrilldownRepository.Page<AlertReportRow>, format: FrenchFormat) -> RowsTable {
        RowsTable(
            title: "Alertes", noun: counted("alerte", "alertes", format: format), page: page,
            columns: ["Détectée le", "Équipement", "Client", "État", "Responsabilité", "Ticket", "Résolue le"], empty: "Aucune alerte pour ces critères.",
            format: format
        ) { row in
            [
                cell(format.dateTime(row.detectedAt), href: row.alertID.map { "/supervision/suivi?alerte=\(SupervisionService.percentEncoded($0))" }),
                cell(row.device), cell(row.client), cell(SupervisionPages.alertStateLabels[row.state] ?? row.state),
                cell(row.responsibility + (row.confidence.map { " (\($0) %)" } ?? "")), cell(row.ticketID.map { "#\($0)" }),
                cell(row.resolvedAt.map(format.dateTime)),
            ]
        }
    }

    static func approvals(_ page: DrilldownRepository.Page<ApprovalReport>, format: FrenchFormat) -> RowsTable {
        RowsTable(
            title: "Demandes SAFEGUARD", noun: counted("demande", "demandes", format: format), page: page,
            columns: ["Créée le", "Demande", "Outil", "Statut", "Demandeur", "Client", "Décidée le"], empty: "Aucune demande pour ces critères.",
            format: format
        ) { row in
            [
                cell(format.dateTime(row.createdAt)), cell(row.approvalID, href: "/safeguard/\(SupervisionService.percentEncoded(row.approvalID))"),
                cell(row.tool), cell(ApprovalStatus(rawValue: row.status)?.frenchLabel ?? row.status), cell(row.requester), cell(row.client),
                cell(row.decidedAt.map(format.dateTime)),
            ]
        }
    }

    static func errors(_ page: DrilldownRepository.Page<ErrorReport>, format: FrenchFormat) -> RowsTable {
        RowsTable(
            title: "Erreurs des workflows", noun: counted("erreur", "erreurs", format: format), page: page,
            columns: ["Date", "Workflow", "Message", "Outil", "Ticket ou alerte", "Reprise"], empty: "Aucune erreur pour ces critères.", format: format
        ) { row in
            let target = row.ticketID.map { ("#\($0)", "/supervision/suivi?ticket=\(SupervisionService.percentEncoded($0))") }
                ?? row.alertID.map { ("alerte \($0)", "/supervision/suivi?alerte=\(SupervisionService.percentEncoded($0))") }
            return [
                cell(format.dateTime(row.at)), cell(row.workflow), cell(row.message), cell(row.tool), cell(target?.0, href: target?.1),
                cell(row.recovered ? "réussie" + (row.attempts.map { " (\($0) tentatives)" } ?? "") : "non"),
            ]
        }
    }
}

struct RowsPage: PageModel {
    static let template = "supervision/rows"
    let chrome: Chrome
    let title: String
    let filters: [String]
    let table: RowsTable
    let csvHref: String
    let back: NavLink
}

struct TimelineItem: Sendable {
    let time: String
    let datetime: String
    let source: String
    let text: String
    let href: String?
    let tone: String
    let icon: String
}

struct TimelinePage: PageModel {
    static let template = "supervision/timeline"
    let chrome: Chrome
    let title: String
    let entries: [TimelineItem]
    let threads: String
}
