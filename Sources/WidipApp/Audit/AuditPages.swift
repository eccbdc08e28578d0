import Foundation
import Hummingbird

/// "Journal d'audit" (N4, PRD 3.4.2): filters, pages of 50, and new entries at the top as they happen. Rows that
/// arrive live are rendered here with the same partial as the page (`audit/row`), so a row has one shape.
struct AuditPages {
    static let accessRules = [
        RouteRule(.get, "/audit", .level(.n4)),
        RouteRule(.get, "/audit/lignes", .level(.n4)),
    ]
    static let liveRowLimit = 50

    let audit: AuditRepository
    let users: UsersService
    let pages: Pages
    var format: FrenchFormat { pages.format }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("/audit") { request, context in try await auditPage(request, context) }
        // Every row newer than `apres`, newest first, for the page's live updates (audit-live.js). More than a page of
        // them (a burst, a long disconnection) is answered 205 Reset Content: the script reloads the page instead of
        // showing the newest rows with a gap below them.
        group.get("/audit/lignes") { request, _ in
            guard let raw = request.formQuery["apres"], let after = Int(raw), (0...Int(Int32.max)).contains(after) else {
                throw AppError.invalidField("apres", "Doit être un identifiant d'entrée (entier positif).")
            }
            let entries = try await audit.list(AuditFilter(after: after, limit: Self.liveRowLimit + 1))
            if entries.count > Self.liveRowLimit { return Response(status: .resetContent) }
            let presentation = AuditPresentation(format: format, users: try await users.list(search: nil))
            return PageRenderer.html(try pages.renderer.render(AuditRows(rows: entries.map { row($0, presentation) })))
        }
    }

    func auditPage(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let query = request.formQuery
        var error: String?
        var filter = AuditFilter(limit: 50)
        do {
            filter = try AuditController.filter(query, timeZone: format.timeZone, blankMeansAny: true)
        } catch let appError as AppError {
            error = appError.message
        }
        let entries = error == nil ? try await audit.list(filter) : []
        let everyone = try await users.list(search: nil)
        let presentation = AuditPresentation(format: format, users: everyone)
        let actions = try await audit.actions()
        var olderHref: String?
        if entries.count == filter.limit, let last = entries.last {
            var items = URLComponents()
            items.queryItems = query.filter { $0.key != "before" }.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
                + [URLQueryItem(name: "before", value: String(last.id))]
            olderHref = "/audit?" + (items.percentEncodedQuery ?? "")
        }
        func value(_ name: String) -> String { query[name] ?? "" }
        var header = await pages.chrome("Journal d'audit", context, current: "/audit")
        // New entries appear live only on the unfiltered first page; elsewhere the page says nothing of « En direct ».
        if query.isEmpty {
            header.follow(.audit)
            header.scripts = ["audit-live.js"]
        }
        return try pages.response(
            AuditPage(
                chrome: header, rows: entries.map { row($0, presentation) }, filterUser: value("user_id"), filterAction: value("action"),
                filterTargetType: value("target_type"), filterTargetID: value("target_id"), filterFrom: value("from"), filterTo: value("to"),
                actions: actions.map { Option(value: $0, label: AuditPresentation.actionLabel($0), selected: $0 == value("action")) }
                    .sorted { $0.label.localizedCompare($1.label) == .orderedAscending },
                users: everyone.map { Option(value: String($0.id), label: $0.username, selected: String($0.id) == value("user_id")) },
                olderHref: olderHref, error: error, filtered: query.keys.contains { $0 != "before" && !(query[$0] ?? "").isEmpty }
            ),
            status: error == nil ? .ok : .badRequest
        )
    }

    func row(_ entry: AuditRecord, _ presentation: AuditPresentation) -> AuditRow {
        let summary = presentation.summary(of: entry.details)
        return AuditRow(
            id: entry.id, at: format.dateTime(entry.createdAt), atISO: FrenchFormat.iso(entry.createdAt),
            username: entry.username ?? "—", action: AuditPresentation.actionLabel(entry.action), actionCode: entry.action,
            target: presentation.target(of: entry), details: summary.text,
            fullDetails: summary.isCut ? entry.details?.prettyText : nil, ipAddress: entry.ipAddress ?? ""
        )
    }
}

struct AuditRow: Sendable {
    let id: Int
    let at: String
    let atISO: String
    let username: String
    /// In French; `actionCode` is the stored code, shown on hover.
    let action: String
    let actionCode: String
    let target: String
    let details: String
    /// The whole details, when `details` had to be cut.
    let fullDetails: String?
    let ipAddress: String
}

struct AuditPage: PageModel {
    static let template = "audit/list"
    let chrome: Chrome
    let rows: [AuditRow]
    let filterUser: String
    let filterAction: String
    let filterTargetType: String
    let filterTargetID: String
    let filterFrom: String
    let filterTo: String
    let actions: [Option]
    let users: [Option]
    let olderHref: String?
    let error: String?
    /// Some filter is set: the folded filter panel opens to show it.
    let filtered: Bool
}

/// Rows alone, for the live viewer.
struct AuditRows: PageModel {
    static let template = "audit/rows"
    let rows: [AuditRow]
}
