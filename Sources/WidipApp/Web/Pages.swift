import Foundation
import Hummingbird

/// What every page of every module shares: the renderer, the page chrome (header, navigation, CSRF token), French
/// formatting, the form error path and the error page.
struct Pages: ErrorPageRendering {
    let renderer: PageRenderer
    let navigation: Navigation
    let tokens: TokenService
    let format: FrenchFormat
    /// Every route, to tell which paths are pages one can come back to.
    let routes: RouteAccessTable

    /// Where to go after logging in: the page the visitor was going to, if it is a page of this site that answers GET
    /// (not `/deconnexion`, whose form an expired session sends here), else home.
    func afterLogin(_ candidate: String?) -> String {
        let next = LoginPages.safeNext(candidate)
        let path = URLComponents(string: next)?.path ?? "/"
        return routes.allowedMethods(forPath: path).contains(.get) ? next : "/"
    }

    /// The number of SAFEGUARD requests waiting, for the header's badge (nil when it cannot be read).
    let pendingApprovals: @Sendable () async -> Int?

    /// A signed-in page's header. From N1, it shows SAFEGUARD's pending count and keeps it live.
    func chrome(_ title: String, _ context: AuthenticatedContext, current: String) async -> Chrome {
        var header = chrome(title, identity: context.identity, current: current)
        if context.user.level >= EventChannel.safeguard.minimumLevel ?? .n4 {
            header.pendingBadge = PendingBadge(count: await pendingApprovals() ?? 0)
            header.follow(.safeguard)
        }
        return header
    }

    func chrome(_ title: String, identity: Identity, current: String) -> Chrome {
        let user = identity.user
        return Chrome(
            title: title, signedIn: true, username: user.username, levelCode: user.level.rawValue, levelLabel: user.level.frenchLabel,
            csrfToken: tokens.csrfToken(sessionID: identity.sessionID), nav: navigation.links(for: user.level, current: current),
            timeZone: format.timeZone.identifier
        )
    }

    func response<Model: PageModel>(_ model: Model, status: HTTPResponse.Status = .ok) throws -> Response {
        try renderer.response(model, status: status)
    }

    /// Runs a form's action. An error the user can act on from the form (a field, a conflict, too many attempts)
    /// shows the form again with the message beside its field (`_form` when it has none), with the error's status
    /// and headers; anything else (not found, outage, internal) goes to the error page.
    func submitting(
        _ action: () async throws -> Response, orShowAgain form: (_ errors: [String: String]) async throws -> Response
    ) async throws -> Response {
        do {
            return try await action()
        } catch let error as AppError where ![.internalError, .unavailable, .notFound].contains(error.kind) {
            var response = try await form([error.field ?? "_form": error.message])
            response.status = error.kind.status
            response.headers.append(contentsOf: error.responseHeaders)
            return response
        }
    }

    /// The French error page, or the login page for a visitor who is not signed in.
    func errorPage(_ error: AppError, request: Request, context: AppRequestContext) -> Response {
        if error.kind == .unauthorized {
            // Only a page read with GET is worth coming back to; a form posted with an expired session is not.
            let comeBack = request.method == .get && request.uri.path != "/"
            let target = comeBack ? "/connexion?suivant=" + (request.uri.string.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") : "/connexion"
            return Response.redirect(to: target, type: .found)
        }
        let heading: String =
            switch error.kind {
            case .notFound: "Page introuvable"
            case .forbidden: "Accès refusé"
            // The message says what was too much (login attempts, requests) and when to try again.
            case .tooManyRequests: "Veuillez patienter"
            case .unavailable: "Service momentanément indisponible"
            case .methodNotAllowed: "Action non prise en charge"
            default: error.kind.status.code >= 500 ? "Erreur interne" : "Requête invalide"
            }
        // A signed-in visitor keeps the header (navigation, account, logout) on error pages too.
        let header = context.identity.map { chrome(heading, identity: $0, current: "") } ?? Chrome.anonymous(title: heading)
        let page = ErrorPage(chrome: header, status: Int(error.kind.status.code), heading: heading, message: error.message)
        return (try? renderer.response(page, status: error.kind.status))
            ?? Response(status: error.kind.status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: error.message)))
    }
}

/// What every page's layout needs: the signed-in user, the navigation and the CSRF token for forms.
struct Chrome: Sendable {
    let title: String
    let signedIn: Bool
    let username: String
    let levelCode: String
    let levelLabel: String
    let csrfToken: String
    let nav: [NavLink]
    /// Real-time channels this page follows (space-separated, read by realtime.js); nil on pages without live data.
    var channels: String?
    /// SAFEGUARD requests waiting, for the header's badge (N1+); nil hides the badge.
    var pendingBadge: PendingBadge?
    /// Extra ES modules of this page, under /static/js/.
    var scripts: [String] = []
    var timeZone = "Europe/Paris"

    mutating func follow(_ channel: EventChannel) {
        let followed = (channels ?? "").split(separator: " ").map(String.init)
        if !followed.contains(channel.rawValue) { channels = (followed + [channel.rawValue]).joined(separator: " ") }
    }

    static func anonymous(title: String) -> Chrome {
        Chrome(title: title, signedIn: false, username: "", levelCode: "", levelLabel: "", csrfToken: "", nav: [])
    }
}

/// The header's link to SAFEGUARD with the number of requests waiting.
struct PendingBadge: Sendable {
    let count: Int
    /// Stored, not computed: templates read properties by reflection.
    let label: String

    init(count: Int) {
        self.count = count
        self.label =
            switch count {
            case 0: "Aucune demande SAFEGUARD en attente"
            case 1: "1 demande SAFEGUARD en attente"
            default: "\(count) demandes SAFEGUARD en attente"
            }
    }
}

/// One choice of a `<select>`.
struct Option: Sendable {
    let value: String
    let label: String
    let selected: Bool

    /// Every level with what it allows, for a legend.
    static func levels(selected: String) -> [Option] {
        AccreditationLevel.allCases.map { Option(value: $0.rawValue, label: "\($0.rawValue) — \($0.frenchLabel)", selected: $0.rawValue == selected) }
    }

    /// Every level by its role alone, for a choice list: the full text does not fit a phone's or a form's width.
    static func levelChoices(selected: String) -> [Option] {
        AccreditationLevel.allCases.map { Option(value: $0.rawValue, label: "\($0.rawValue) — \($0.shortLabel)", selected: $0.rawValue == selected) }
    }
}

struct ErrorPage: PageModel {
    static let template = "errors/error"
    let chrome: Chrome
    let status: Int
    let heading: String
    let message: String
}
