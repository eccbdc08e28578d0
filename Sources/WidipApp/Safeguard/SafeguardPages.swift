import Foundation
import Hummingbird

struct SafeguardPageSettings: Sendable {
    let timeZone: TimeZone
    /// GLPI's web address, for « Voir le ticket GLPI ».
    let glpiURL: String?
}

/// "SAFEGUARD" (PRD 3.2.2): the pending requests as cards a technician decides from, live; the history with its
/// filters and CSV export; seven days of figures; and one request with its timeline. Cards that arrive live are
/// rendered here with the page's own partial (`safeguard/card`), so a card has one shape.
struct SafeguardPages {
    static let accessRules = [
        RouteRule(.get, "/safeguard", .level(.n1)),
        RouteRule(.get, "/safeguard/historique", .level(.n1)),
        RouteRule(.get, "/safeguard/statistiques", .level(.n1)),
        RouteRule(.get, "/safeguard/cartes/{id}", .level(.n1)),
        RouteRule(.get, "/safeguard/{id}", .level(.n1)),
        RouteRule(.post, "/safeguard/{id}/approuver", .level(.n2)),
        RouteRule(.post, "/safeguard/{id}/rejeter", .level(.n2)),
        RouteRule(.post, "/safeguard/{id}/reporter", .level(.n2)),
    ]

    let safeguard: SafeguardService
    let pages: Pages
    let settings: SafeguardPageSettings
    var format: FrenchFormat { pages.format }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("/safeguard") { request, context in
            try await pendingPage(context, notice: Self.notice(request.formQuery), error: nil)
        }
        group.get("/safeguard/cartes/{id}") { _, context in
            let request = try await safeguard.request(try SafeguardController.id(context.parameters.get("id")))
            // No longer pending: nothing to show; the script removes the card.
            guard request.approvalStatus == .pending else { return Response(status: .noContent) }
            return PageRenderer.html(try pages.renderer.render(CardFragment(card: card(request, for: context))))
        }
        group.get("/safeguard/historique") { request, context in try await historyPage(request, context) }
        group.get("/safeguard/statistiques") { _, context in try await statsPage(context) }
        group.get("/safeguard/{id}") { _, context in
            let id = try SafeguardController.id(context.parameters.get("id"))
            let request = try await safeguard.request(id)
            return try pages.response(
                try await DetailPage(
                    chrome: chrome("Demande \(id)", context), card: card(request, for: context),
                    steps: safeguard.timeline(id).map(step), outcome: outcome(request)
                )
            )
        }
        group.post("/safeguard/{id}/approuver") { request, context in
            try await deciding(request, context) { id in
                let decided = try await safeguard.approve(id, by: context.user, client: context.client(of: request))
                return decided.approvalStatus == .pending ? "premiere" : "approuvee"
            }
        }
        group.post("/safeguard/{id}/rejeter") { request, context in
            try await deciding(request, context) { id in
                let form = try await request.decodeForm(context: context)
                _ = try await safeguard.reject(id, by: context.user, reason: form["reason"] ?? "", client: context.client(of: request))
                return "rejetee"
            }
        }
        group.post("/safeguard/{id}/reporter") { request, context in
            try await deciding(request, context) { id in
                _ = try await safeguard.postpone(id, by: context.user, client: context.client(of: request))
                return "reportee"
            }
        }
    }

    /// A decision from a card's form: back to the queue with what happened, or the queue with the refusal's message.
    private func deciding(_ request: Request, _ context: AuthenticatedContext, _ decide: (String) async throws -> String) async throws -> Response {
        let id = try SafeguardController.id(context.parameters.get("id"))
        return try await pages.submitting {
            let done = try await decide(id)
            return Response.redirect(to: "/safeguard?\(done)=\(id)", type: .normal)
        } orShowAgain: { errors in
            try await pendingPage(context, notice: nil, error: errors.values.first.map { "\(id) : \($0)" })
        }
    }

    static func notice(_ query: [String: String]) -> String? {
        if let id = query["approuvee"] { return "Demande \(id) approuvée : SAFEGUARD l'exécute." }
        if let id = query["premiere"] { return "Votre approbation de \(id) est enregistrée : une seconde personne doit approuver (action L4)." }
        if let id = query["rejetee"] { return "Demande \(id) rejetée." }
        if let id = query["reportee"] { return "Demande \(id) reportée." }
        return nil
    }

    private func chrome(_ title: String, _ context: AuthenticatedContext) async -> Chrome {
        var header = await pages.chrome(title, context, current: "/safeguard")
        header.scripts = ["safeguard-live.js"]
        return header
    }

    private func pendingPage(_ context: AuthenticatedContext, notice: String?, error: String?) async throws -> Response {
        let pending = try await safeguard.pending()
        return try pages.response(
            PendingPage(
                chrome: await chrome("SAFEGUARD", context), tabs: Tab.all(current: "/safeguard"), cards: pending.map { CardFragment(card: card($0, for: context)) },
                count: pending.count, heading: Self.pendingHeading(pending.count), notice: notice, error: error,
                serverNow: Int64(Date().timeIntervalSince1970 * 1000), levelCode: context.user.level.rawValue, hasCards: !pending.isEmpty
            ),
            status: error == nil ? .ok : .conflict
        )
    }

    static func pendingHeading(_ count: Int) -> String {
        switch count {
        case 0: "Aucune demande en attente"
        case 1: "1 demande en attente"
        default: "\(count) demandes en attente"
        }
    }

    // MARK: Cards

    func card(_ request: ApprovalRequest, for context: AuthenticatedContext) -> ApprovalCard {
        let now = Date()
        let left = request.expiresAt.timeIntervalSince(now)
        let urgency = Urgency(secondsLeft: left)
        let user = context.user
        let pending = request.approvalStatus == .pending
        var refusal: String?
        if pending {
            do { try SafeguardService.check(user, mayDecide: request) } catch let error as AppError { refusal = error.message } catch {}
        }
        let arguments = request.argumentFields.maskingSecretsFields.sorted { $0.key < $1.key }.map {
            ApprovalCard.Field(label: Self.argumentLabels[$0.key] ?? $0.key, value: $0.value.displayText)
        }
        let confidence: String? = if case .number(let value)? = request.context.objectValue?["confidence"] { format.percent(value / 100) } else { nil }
        let glpi: String? = request.ticketID.flatMap { ticket in
            settings.glpiURL.map { base in (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/front/ticket.form.php?id=\(ticket.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
        }
        return ApprovalCard(
            id: request.approvalID, tool: request.toolName, level: request.securityLevel, isL4: request.level >= .l4,
            urgency: urgency.rawValue, urgencyWord: Self.urgencyWord(urgency), expiresISO: FrenchFormat.iso(request.expiresAt),
            expiresIn: Self.expiresIn(left), expiresAt: format.time(request.expiresAt), createdAt: format.relativeInSentence(request.createdAt),
            arguments: arguments, ticketID: request.ticketID, ticketTitle: request.contextText("ticket_title"),
            ticketDescription: request.contextText("ticket_description"), clientName: request.clientName, workflow: request.contextText("workflow"),
            confidence: confidence, glpiHref: glpi, requester: Self.requesterText(request),
            approvals: request.approvalsRequired > 1 ? "\(request.approvalsCount) approbation sur \(request.approvalsRequired)" : nil,
            escalated: request.escalatedAt != nil, postponed: request.postponeCount > 0 ? "Reportée \(request.postponeCount) fois" : nil,
            canPostpone: request.postponeCount < safeguard.settings.maximumPostpones,
            impact: impact(request.impactBefore, tool: request.toolName), isPending: pending, canDecide: pending && refusal == nil, refusal: refusal, csrf: pages.tokens.csrfToken(sessionID: context.identity.sessionID)
        )
    }

    /// The PRD's action tools' arguments in the technician's words; any other argument shows under its own name.
    static let argumentLabels = [
        "username": "Compte", "reason": "Motif", "ticket_id": "Ticket", "solution": "Solution", "hostname": "Équipement",
        "must_change_at_next_logon": "Changement imposé à la connexion", "source_username": "Compte source", "target_username": "Compte cible",
    ]

    static func urgencyWord(_ urgency: Urgency) -> String {
        switch urgency {
        case .red: "URGENT"
        case .yellow: "Bientôt"
        case .green: "Dans les temps"
        }
    }

    static func expiresIn(_ seconds: TimeInterval) -> String {
        guard seconds > 0 else { return "Expirée" }
        let minutes = Int(seconds / 60)
        if minutes < 1 { return "Expire dans moins d'une minute" }
        if minutes < 60 { return "Expire dans \(minutes) min" }
        return "Expire dans \(minutes / 60) h \(String(format: "%02d", minutes % 60))"
    }

    static func requesterText(_ request: ApprovalRequest) -> String {
        switch request.requesterType {
        case "user": "Assistant WIDIP, pour \(request.requesterName ?? "?")"
        default: "Workflow \(request.requesterName ?? "Phase 1")"
        }
    }

    /// The account's state before the decision, in words.
    func impact(_ state: JSONValue?, tool: String) -> ImpactView? {
        guard ImpactPreview.accountTools.contains(tool) else { return nil }
        guard let fields = state?.objectValue else {
            return ImpactView(lines: [], problem: "État actuel du compte indisponible (serveur MCP injoignable au moment de la demande).")
        }
        if let error = fields["error"]?.stringValue { return ImpactView(lines: [], problem: error) }
        var lines: [ApprovalCard.Field] = []
        if let name = fields["display_name"]?.stringValue { lines.append(.init(label: "Compte", value: "\(name) (\(fields["username"]?.stringValue ?? ""))")) }
        if case .bool(let enabled)? = fields["enabled"] { lines.append(.init(label: "Actif", value: enabled ? "Oui" : "Non — \(fields["disabled_reason"]?.stringValue ?? "désactivé")")) }
        if case .bool(let locked)? = fields["locked"] {
            let failures = fields["failed_logins"].map(\.displayText) ?? "0"
            lines.append(.init(label: "Verrouillé", value: locked ? "Oui (\(failures) échecs de connexion)" : "Non"))
        }
        if let logon = fields["last_logon"]?.stringValue { lines.append(.init(label: "Dernière connexion", value: Self.readableDate(logon))) }
        if let set = fields["password_last_set"]?.stringValue { lines.append(.init(label: "Mot de passe changé", value: Self.readableDate(set))) }
        if case .array(let groups)? = fields["groups"] {
            lines.append(.init(label: "Groupes (\(groups.count))", value: groups.compactMap(\.stringValue).joined(separator: ", ")))
        }
        return ImpactView(lines: lines, problem: nil)
    }

    /// "2026-11-24T21:58:00+01:00" as "24/11/2026 21:58"; anything else as given.
    static func readableDate(_ text: String) -> String {
        guard let match = text.wholeMatch(of: /(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}).*/) else { return text }
        return "\(match.3)/\(match.2)/\(match.1) \(match.4):\(match.5)"
    }

    // MARK: Timeline and outcome

    func step(_ step: TimelineStep) -> StepRow {
        StepRow(
            label: TimelineLabels.label(step.kind), kind: step.kind, at: format.dateTime(step.at), atISO: FrenchFormat.iso(step.at), actor: step.actorName,
            reason: step.reason, ipAddress: step.ipAddress
        )
    }

    func outcome(_ request: ApprovalRequest) -> OutcomeView {
        let status = request.approvalStatus
        var lines: [ApprovalCard.Field] = []
        if let decider = request.decidedBy, let at = request.decidedAt { lines.append(.init(label: "Décision", value: "\(decider), \(format.dateTime(at))")) }
        if let reason = request.decisionReason { lines.append(.init(label: "Motif", value: reason)) }
        if let at = request.executedAt { lines.append(.init(label: "Exécutée le", value: format.dateTime(at))) }
        if let error = request.error { lines.append(.init(label: "Erreur", value: error)) }
        if let check = ImpactPreview.confirmation(tool: request.toolName, before: request.impactBefore, after: request.impactAfter) {
            lines.append(.init(label: "Vérification", value: check.summary))
        }
        return OutcomeView(
            status: status?.frenchLabel ?? request.status, tone: Self.tone(status), lines: lines, result: request.result?.prettyText
        )
    }

    static func tone(_ status: ApprovalStatus?) -> String {
        switch status {
        case .executed?, .approved?: "ok"
        case .rejected?, .failed?: "critical"
        case .expired?: "neutral"
        default: "info"
        }
    }

    // MARK: History and figures

    private func historyPage(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let query = request.formQuery
        var error: String?
        var filter = ApprovalFilter()
        do { filter = try SafeguardController.filter(query, timeZone: format.timeZone) } catch let appError as AppError { error = appError.message }
        let page: (requests: [ApprovalRequest], total: Int) = error == nil ? try await safeguard.history(filter) : ([], 0)
        func value(_ name: String) -> String { query[name] ?? "" }
        let pageNumber = filter.offset / filter.limit + 1
        func link(page number: Int) -> String {
            var items = URLComponents()
            items.queryItems = query.filter { $0.key != "page" && !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
                + [URLQueryItem(name: "page", value: String(number))]
            return "/safeguard/historique?" + (items.percentEncodedQuery ?? "")
        }
        var csv = URLComponents()
        csv.queryItems = query.filter { $0.key != "page" && !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
            + [URLQueryItem(name: "format", value: "csv")]
        let rows = page.requests.map { request in
            HistoryRow(
                id: request.approvalID, tool: request.toolName, level: request.securityLevel, status: request.approvalStatus?.frenchLabel ?? request.status,
                tone: Self.tone(request.approvalStatus), client: request.clientName ?? "—", requester: request.requesterName ?? "—",
                createdAt: format.dateTime(request.createdAt), createdISO: FrenchFormat.iso(request.createdAt), decidedBy: request.decidedBy ?? "—"
            )
        }
        let statuses = ApprovalStatus.allCases.map { Option(value: $0.rawValue, label: $0.frenchLabel, selected: $0.rawValue == value("status")) }
        let tools = try await safeguard.tools().map { Option(value: $0, label: $0, selected: $0 == value("tool")) }
        return try pages.response(
            HistoryPage(
                chrome: await chrome("Historique SAFEGUARD", context), tabs: Tab.all(current: "/safeguard/historique"), rows: rows,
                total: page.total == 1 ? "1 demande" : "\(format.integer(page.total)) demandes", statuses: statuses, tools: tools,
                filterClient: value("client"), filterRequester: value("requester"), filterDecider: value("decider"), filterFrom: value("from"),
                filterTo: value("to"), filtered: query.contains { $0.key != "page" && !$0.value.isEmpty },
                previousHref: pageNumber > 1 ? link(page: pageNumber - 1) : nil,
                nextHref: filter.offset + filter.limit < page.total ? link(page: pageNumber + 1) : nil,
                csvHref: "/api/safeguard/history?" + (csv.percentEncodedQuery ?? ""), error: error
            ),
            status: error == nil ? .ok : .badRequest
        )
    }

    private func statsPage(_ context: AuthenticatedContext) async throws -> Response {
        let stats = try await safeguard.stats(days: 7, timeZone: format.timeZone)
        func share(_ count: Int) -> String { stats.total == 0 ? "—" : format.percent(Double(count) / Double(stats.total)) }
        let average = stats.averageDecisionSeconds.map { format.duration(Int($0.rounded())) } ?? "—"
        let maximum = max(1, stats.topTools.map(\.count).max() ?? 1)
        let dayMaximum = max(1, stats.perDay.map(\.count).max() ?? 1)
        return try pages.response(
            StatsPage(
                chrome: await chrome("Statistiques SAFEGUARD", context), tabs: Tab.all(current: "/safeguard/statistiques"),
                total: format.integer(stats.total),
                figures: [
                    Figure(label: "Approuvées", value: format.integer(stats.approved), share: share(stats.approved), tone: "ok"),
                    Figure(label: "Rejetées", value: format.integer(stats.rejected), share: share(stats.rejected), tone: "critical"),
                    Figure(label: "Expirées", value: format.integer(stats.expired), share: share(stats.expired), tone: "neutral"),
                    Figure(label: "En attente", value: format.integer(stats.pending), share: share(stats.pending), tone: "info"),
                ],
                executed: format.integer(stats.executed), failed: format.integer(stats.failed), averageDecision: average,
                tools: stats.topTools.map { item in
                    Bar(
                        label: item.tool, value: format.integer(item.count), share: share(item.count),
                        width: Double(item.count) / Double(maximum) * 100
                    )
                },
                days: stats.perDay.map { item in
                    let height = Double(item.count) / Double(dayMaximum) * 100
                    return Column(label: Self.shortDay(item.day), value: format.integer(item.count), height: height, y: 100 - height)
                },
                empty: stats.total == 0
            )
        )
    }

    /// "2026-12-05" as "05/12".
    static func shortDay(_ day: String) -> String {
        let parts = day.split(separator: "-")
        return parts.count == 3 ? "\(parts[2])/\(parts[1])" : day
    }
}

// MARK: View models

struct Tab: Sendable {
    let label: String
    let href: String
    let current: Bool

    static func all(current: String) -> [Tab] {
        [("En attente", "/safeguard"), ("Historique", "/safeguard/historique"), ("Statistiques", "/safeguard/statistiques")]
            .map { Tab(label: $0.0, href: $0.1, current: $0.1 == current) }
    }
}

struct ApprovalCard: Sendable {
    struct Field: Sendable {
        let label: String
        let value: String
    }

    let id: String
    let tool: String
    let level: String
    let isL4: Bool
    /// red, yellow or green; `urgencyWord` says it in words.
    let urgency: String
    let urgencyWord: String
    let expiresISO: String
    let expiresIn: String
    let expiresAt: String
    let createdAt: String
    let arguments: [Field]
    let ticketID: String?
    let ticketTitle: String?
    let ticketDescription: String?
    let clientName: String?
    let workflow: String?
    let confidence: String?
    let glpiHref: String?
    let requester: String
    let approvals: String?
    let escalated: Bool
    let postponed: String?
    let canPostpone: Bool
    let impact: ImpactView?
    /// Still waiting for a decision: countdown and buttons.
    let isPending: Bool
    let canDecide: Bool
    /// Why this user cannot decide (level, own request).
    let refusal: String?
    let csrf: String
}

/// View models keep flags as stored properties: templates read properties by reflection, which skips computed ones.
struct ImpactView: Sendable {
    let lines: [ApprovalCard.Field]
    let problem: String?
    let hasLines: Bool

    init(lines: [ApprovalCard.Field], problem: String?) {
        self.lines = lines
        self.problem = problem
        self.hasLines = !lines.isEmpty
    }
}

struct StepRow: Sendable {
    let label: String
    let kind: String
    let at: String
    let atISO: String
    let actor: String?
    let reason: String?
    let ipAddress: String?
}

struct OutcomeView: Sendable {
    let status: String
    let tone: String
    let lines: [ApprovalCard.Field]
    let result: String?
    let hasLines: Bool

    init(status: String, tone: String, lines: [ApprovalCard.Field], result: String?) {
        self.status = status
        self.tone = tone
        self.lines = lines
        self.result = result
        self.hasLines = !lines.isEmpty
    }
}

struct HistoryRow: Sendable {
    let id: String
    let tool: String
    let level: String
    let status: String
    let tone: String
    let client: String
    let requester: String
    let createdAt: String
    let createdISO: String
    let decidedBy: String
}

struct Figure: Sendable {
    let label: String
    let value: String
    let share: String
    let tone: String
}

struct Bar: Sendable {
    let label: String
    let value: String
    let share: String
    /// Percent of the most requested tool's count.
    let width: Double
}

struct Column: Sendable {
    let label: String
    let value: String
    /// Percent of the busiest day, drawn from the bottom of a 100-unit-high bar.
    let height: Double
    let y: Double
}

struct PendingPage: PageModel {
    static let template = "safeguard/pending"
    let chrome: Chrome
    let tabs: [Tab]
    /// Each wrapped as the card partial expects it (`{{#card}}`), as in the detail page and the live fragment.
    let cards: [CardFragment]
    let count: Int
    let heading: String
    let notice: String?
    let error: String?
    /// The server's clock (ms since 1970), so countdowns are right whatever the browser's clock says.
    let serverNow: Int64
    let levelCode: String
    let hasCards: Bool
}

struct CardFragment: PageModel {
    static let template = "safeguard/card"
    let card: ApprovalCard
}

struct DetailPage: PageModel {
    static let template = "safeguard/detail"
    let chrome: Chrome
    let card: ApprovalCard
    let steps: [StepRow]
    let outcome: OutcomeView
}

struct HistoryPage: PageModel {
    static let template = "safeguard/history"
    let chrome: Chrome
    let tabs: [Tab]
    let rows: [HistoryRow]
    let total: String
    let statuses: [Option]
    let tools: [Option]
    let filterClient: String
    let filterRequester: String
    let filterDecider: String
    let filterFrom: String
    let filterTo: String
    let filtered: Bool
    let previousHref: String?
    let nextHref: String?
    let csvHref: String
    let error: String?
}

struct StatsPage: PageModel {
    static let template = "safeguard/stats"
    let chrome: Chrome
    let tabs: [Tab]
    let total: String
    let figures: [Figure]
    let executed: String
    let failed: String
    let averageDecision: String
    let tools: [Bar]
    let days: [Column]
    let empty: Bool
}

extension JSONValue {
    /// A value as a person reads it in a card.
    var displayText: String {
        switch self {
        case .string(let text): text
        case .number(let number): number.rounded() == number && abs(number) < 1e15 ? String(Int(number)) : String(number)
        case .bool(let flag): flag ? "oui" : "non"
        case .null: "—"
        case .array, .object: jsonText
        }
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    var maskingSecretsFields: [String: JSONValue] { JSONValue.object(self).maskingSecrets.objectValue ?? [:] }
}
