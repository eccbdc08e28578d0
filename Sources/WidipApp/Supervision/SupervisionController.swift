import Foundation
import Hummingbird

/// `GET /api/supervision/...` (PRD 2.1): the five dashboards, the rows behind each figure (JSON or CSV), and the
/// timeline of a ticket or an alert. Admins and above (PRD 3.4.1: N3 "Supervision").
struct SupervisionController {
    static let accessRules = [
        "overview", "support", "sentinel", "enrichisseur", "safeguard", "tickets", "alerts", "approvals", "errors", "timeline",
    ].map { RouteRule(.get, "/api/supervision/\($0)", .level(.n3)) }

    let supervision: SupervisionService
    let timeZone: TimeZone

    static let defaultRows = 200
    static let maximumJSONRows = 1000

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("/api/supervision/overview") { request, _ in
            JSONBody(try await supervision.overview(try period(request)))
        }
        group.get("/api/supervision/support") { request, _ in
            JSONBody(try await supervision.support(try period(request)))
        }
        group.get("/api/supervision/sentinel") { request, _ in
            JSONBody(try await supervision.sentinel(try period(request)))
        }
        group.get("/api/supervision/enrichisseur") { request, _ in
            JSONBody(try await supervision.enrichisseur(try period(request, fallback: .week)))
        }
        group.get("/api/supervision/safeguard") { request, _ in
            JSONBody(try await supervision.safeguard(try period(request, fallback: .week)))
        }
        let drilldowns = supervision.drilldowns
        group.get("/api/supervision/tickets") { request, context in
            try await rows(request, context, list: { query, period, limit in
                try await drilldowns.tickets(try Self.ticketFilter(query, period: period), limit: limit)
            }, csv: SupervisionCSV.tickets)
        }
        group.get("/api/supervision/alerts") { request, context in
            try await rows(request, context, list: { query, period, limit in
                try await drilldowns.alerts(try Self.alertFilter(query, period: period), limit: limit)
            }, csv: SupervisionCSV.alerts)
        }
        group.get("/api/supervision/approvals") { request, context in
            try await rows(request, context, list: { query, period, limit in
                try await drilldowns.approvals(try Self.approvalFilter(query, period: period), limit: limit)
            }, csv: SupervisionCSV.approvals)
        }
        group.get("/api/supervision/errors") { request, context in
            try await rows(request, context, list: { query, period, limit in
                try await drilldowns.errors(.init(period: period, workflow: try Self.text(query, "workflow", limit: 50)), limit: limit)
            }, csv: SupervisionCSV.errors)
        }
        group.get("/api/supervision/timeline") { request, _ in
            let query = request.formQuery
            let thread = try Self.thread(query)
            let entries = try await supervision.timeline(correlationID: thread.correlationID, ticketID: thread.ticketID, alertID: thread.alertID)
            return JSONBody(TimelineReport(entries: entries))
        }
    }

    /// The rows behind a figure: its filters and period from the query, as JSON (`limit` rows) or as a CSV of all.
    func rows<Row: Encodable & Sendable>(
        _ request: Request, _ context: some RequestContext,
        list: ([String: String], DashboardPeriod?, Int) async throws -> DrilldownRepository.Page<Row>,
        csv: ([Row], TimeZone) -> CSVDocument
    ) async throws -> Response {
        let query = request.formQuery
        let asCSV = query["format"] == "csv"
        let page = try await list(query, try optionalPeriod(query), try Self.limit(query, csv: asCSV))
        if asCSV { return try csv(page.rows, timeZone).counting(page.total).response(from: request, context: context) }
        return try JSONBody(RowsReport(total: page.total, rows: page.rows, truncated: page.rows.count < page.total))
            .response(from: request, context: context)
    }

    struct TimelineReport: Encodable, Sendable {
        let entries: [TimelineEntryReport]
    }

    func period(_ request: Request, fallback: DashboardPeriod.Preset = .day) throws -> DashboardPeriod {
        try DashboardPeriod.parse(request.formQuery, now: Date(), timeZone: timeZone, fallback: fallback)
    }

    /// A drill-down without a period lists every row.
    func optionalPeriod(_ query: [String: String]) throws -> DashboardPeriod? {
        guard [query["period"], query["from"], query["to"]].contains(where: { $0?.isEmpty == false }) else { return nil }
        return try DashboardPeriod.parse(query, now: Date(), timeZone: timeZone)
    }

    // MARK: Query fields

    /// A CSV holds every row; `limit` is still checked, so a wrong one is never silently ignored.
    static func limit(_ query: [String: String], csv: Bool) throws -> Int {
        var limit = defaultRows
        if let raw = query["limit"], !raw.isEmpty {
            guard let parsed = Int(raw), (1...maximumJSONRows).contains(parsed) else {
                throw AppError.invalidField("limit", "Nombre de lignes entre 1 et \(maximumJSONRows) (ou format=csv pour tout exporter).")
            }
            limit = parsed
        }
        return csv ? DrilldownRepository.maximumRows : limit
    }

    static func text(_ query: [String: String], _ name: String, limit: Int) throws -> String? {
        try EventFields.text(query[name], field: name, limit: limit)
    }

    static func choice<Value: RawRepresentable & CaseIterable>(_ query: [String: String], _ name: String) throws -> Value? where Value.RawValue == String {
        guard let raw = query[name], !raw.isEmpty else { return nil }
        guard let value = Value(rawValue: raw) else {
            throw AppError.invalidField(name, "Valeurs admises : \(Value.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        return value
    }

    static func ticketFilter(_ query: [String: String], period: DashboardPeriod?) throws -> DrilldownRepository.TicketFilter {
        var autoResolved: Bool?
        switch query["auto_resolved"] {
        case nil, "": break
        case "true": autoResolved = true
        case "false": autoResolved = false
        default: throw AppError.invalidField("auto_resolved", "true ou false attendu.")
        }
        return DrilldownRepository.TicketFilter(
            period: period, category: try choice(query, "category"), outcome: try choice(query, "outcome"), autoResolved: autoResolved,
            client: try text(query, "client", limit: 200)
        )
    }

    static func alertFilter(_ query: [String: String], period: DashboardPeriod?) throws -> DrilldownRepository.AlertFilter {
        DrilldownRepository.AlertFilter(
            period: period, state: try choice(query, "state"), responsibility: try choice(query, "responsibility"), client: try text(query, "client", limit: 200)
        )
    }

    static func approvalFilter(_ query: [String: String], period: DashboardPeriod?) throws -> DrilldownRepository.ApprovalFilter {
        DrilldownRepository.ApprovalFilter(period: period, outcome: try choice(query, "outcome"), tool: try text(query, "tool", limit: 128))
    }

    static func thread(_ query: [String: String]) throws -> (correlationID: String?, ticketID: String?, alertID: String?) {
        let thread = (
            correlationID: try text(query, "correlation_id", limit: 100), ticketID: try text(query, "ticket_id", limit: 50),
            alertID: try text(query, "alert_id", limit: 100)
        )
        guard thread.correlationID != nil || thread.ticketID != nil || thread.alertID != nil else {
            throw AppError.invalidField("ticket_id", "Indiquez un ticket (ticket_id), une alerte (alert_id) ou un fil (correlation_id).")
        }
        return thread
    }
}

extension CSVDocument {
    /// The document, with the number of rows that matched (more than it holds when the export limit was reached).
    func counting(_ total: Int) -> CSVDocument {
        var document = self
        document.total = total
        return document
    }
}

/// The drill-downs as spreadsheets, with French headings and values.
enum SupervisionCSV {
    static func tickets(_ rows: [TicketReport], timeZone: TimeZone) -> CSVDocument {
        let format = FrenchFormat(timeZone: timeZone)
        return CSVDocument(
            filename: "supervision-tickets.csv",
            header: ["Date", "Ticket", "Catégorie", "Résultat", "Auto-résolu", "Client", "Action", "Erreur", "Durée (ms)", "Workflow", "Fil"],
            rows: rows.map { row in
                [
                    format.dateTime(row.at), row.ticketID, row.category, SupervisionService.outcomeLabels[row.outcome] ?? row.outcome,
                    row.autoResolved.map { $0 ? "oui" : "non" }, row.client, row.action, row.error, row.durationMs.map(String.init), row.workflow, row.correlationID,
                ]
            }
        )
    }

    static let stateLabels = ["open": "En cours", "diagnosing": "Attente diagnostic", "resolved": "Résolue"]

    static func alerts(_ rows: [AlertReportRow], timeZone: TimeZone) -> CSVDocument {
        let format = FrenchFormat(timeZone: timeZone)
        return CSVDocument(
            filename: "supervision-alertes.csv",
            header: ["Détectée le", "Alerte", "Équipement", "Client", "État", "Responsabilité", "Confiance (%)", "Ticket", "Message", "Résolue le", "Fil"],
            rows: rows.map { row in
                [
                    format.dateTime(row.detectedAt), row.alertID, row.device, row.client, stateLabels[row.state] ?? row.state, row.responsibility,
                    row.confidence.map(String.init), row.ticketID, row.message, row.resolvedAt.map(format.dateTime), row.correlationID,
                ]
            }
        )
    }

    static func approvals(_ rows: [ApprovalReport], timeZone: TimeZone) -> CSVDocument {
        let format = FrenchFormat(timeZone: timeZone)
        return CSVDocument(
            filename: "supervision-approbations.csv",
            header: ["Créée le", "Identifiant", "Outil", "Niveau", "Statut", "Demandeur", "Client", "Ticket", "Décidée le", "Expire le"],
            rows: rows.map { row in
                [
                    format.dateTime(row.createdAt), row.approvalID, row.tool, row.level, ApprovalStatus(rawValue: row.status)?.frenchLabel ?? row.status,
                    row.requester, row.client, row.ticketID, row.decidedAt.map(format.dateTime), format.dateTime(row.expiresAt),
                ]
            }
        )
    }

    static func errors(_ rows: [ErrorReport], timeZone: TimeZone) -> CSVDocument {
        let format = FrenchFormat(timeZone: timeZone)
        return CSVDocument(
            filename: "supervision-erreurs.csv",
            header: ["Date", "Workflow", "Message", "Outil", "Ticket", "Alerte", "Tentatives", "Reprise réussie", "Fil"],
            rows: rows.map { row in
                [
                    format.dateTime(row.at), row.workflow, row.message, row.tool, row.ticketID, row.alertID, row.attempts.map(String.init),
                    row.recovered ? "oui" : "non", row.correlationID,
                ]
            }
        )
    }
}
