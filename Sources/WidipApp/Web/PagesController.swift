import Foundation
import Hummingbird

/// The French web UI: server-rendered pages whose forms post back here, so everything works before any script runs.
struct PagesController {
    let renderer: PageRenderer
    let auth: AuthService
    let users: UsersService
    let audit: AuditRepository
    let tokens: TokenService
    let mcp: MCPToolService
    let format: FrenchFormat

    func addRoutes(public router: RouterGroup<AppRequestContext>, authenticated group: RouterGroup<AuthenticatedContext>) {
        router.get("/connexion") { request, context in
            if context.identity != nil { return Response.redirect(to: "/", type: .found) }
            let next = Self.safeNext(request.uri.queryParameters["suivant"].map(String.init))
            return try renderer.response("auth/login", LoginPage(chrome: .anonymous(title: "Connexion"), username: "", next: next, error: nil))
        }
        router.post("/connexion", use: login)
        group.post("/deconnexion") { request, context in
            try await auth.logout(context.identity, client: context.client(of: request))
            var response = Response.redirect(to: "/connexion", type: .normal)
            response.setCookie(AuthController.expiredSessionCookie(secure: request.isSecure))
            return response
        }
        group.get("/") { _, context in
            try renderer.response("home", HomePage(chrome: chrome("Accueil", context, current: "/"), tiles: Self.tiles(for: context.user.level)))
        }
        group.get("/compte") { request, context in
            try renderer.response("account/account", accountPage(context, notice: request.uri.queryParameters["modifie"] != nil ? "Mot de passe modifié. Vos autres sessions ont été fermées." : nil))
        }
        group.post("/compte/mot-de-passe") { request, context in
            let form = try await request.decodeForm(context: context)
            do {
                try await auth.changePassword(
                    context.identity, current: form["current_password"] ?? "", new: form["new_password"] ?? "", client: context.client(of: request)
                )
                return Response.redirect(to: "/compte?modifie=1", type: .normal)
            } catch let error as AppError where error.field != nil {
                return try renderer.response("account/account", accountPage(context, errors: [error.field!: error.message]), status: error.kind.status)
            }
        }
        group.get("/utilisateurs") { request, context in
            let search = request.uri.queryParameters["q"].map(String.init) ?? ""
            let list = try await users.list(search: search)
            let notice = request.uri.queryParameters["desactive"].map { "Le compte « \($0) » a été désactivé." }
            return try renderer.response(
                "users/list",
                UsersPage(
                    chrome: chrome("Utilisateurs", context, current: "/utilisateurs"), search: search, rows: list.map(userRow),
                    count: list.count == 1 ? "1 utilisateur" : "\(format.integer(list.count)) utilisateurs", levels: Option.levels(selected: ""), notice: notice
                )
            )
        }
        group.get("/utilisateurs/nouveau") { _, context in
            try renderer.response("users/form", newUserForm(context, values: [:], errors: [:]))
        }
        group.post("/utilisateurs/nouveau") { request, context in
            let form = try await request.decodeForm(context: context)
            do {
                let quota = try Self.quota(form["token_quota"])
                let user = try await users.create(
                    NewUser(
                        username: form["username"] ?? "", password: form["password"] ?? "", role: form["role"] ?? "tech",
                        level: try Self.level(form["accreditation_level"]), tokenQuota: quota, active: form["active"] != nil
                    ),
                    actorID: context.user.id, client: context.client(of: request)
                )
                return Response.redirect(to: "/utilisateurs/\(user.id)?cree=1", type: .normal)
            } catch let error as AppError where error.kind != .internalError && error.kind != .unavailable {
                return try renderer.response("users/form", newUserForm(context, values: form, errors: Self.fieldErrors(error)), status: error.kind.status)
            }
        }
        group.get("/utilisateurs/{id}") { request, context in
            let user = try await users.get(id: try Self.pageUserID(context))
            let query = request.uri.queryParameters
            let notice = query["cree"] != nil ? "Utilisateur créé." : (query["enregistre"] != nil ? "Modifications enregistrées." : nil)
            return try renderer.response("users/form", editUserForm(context, user: user, values: nil, errors: [:], notice: notice))
        }
        group.post("/utilisateurs/{id}") { request, context in
            let id = try Self.pageUserID(context)
            let form = try await request.decodeForm(context: context)
            do {
                let password = form["password"].flatMap { $0.isEmpty ? nil : $0 }
                _ = try await users.update(
                    id: id,
                    changes: UserChanges(
                        username: form["username"], role: form["role"], level: try Self.level(form["accreditation_level"]),
                        tokenQuota: try Self.quota(form["token_quota"]), active: form["active"] != nil, password: password
                    ),
                    actorID: context.user.id, client: context.client(of: request)
                )
                return Response.redirect(to: "/utilisateurs/\(id)?enregistre=1", type: .normal)
            } catch let error as AppError where error.kind != .internalError && error.kind != .unavailable && error.kind != .notFound {
                let user = try await users.get(id: id)
                return try renderer.response("users/form", editUserForm(context, user: user, values: form, errors: Self.fieldErrors(error), notice: nil), status: error.kind.status)
            }
        }
        group.post("/utilisateurs/{id}/desactiver") { request, context in
            let id = try Self.pageUserID(context)
            do {
                let user = try await users.deactivate(id: id, actorID: context.user.id, client: context.client(of: request))
                let name = user.username.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? ""
                return Response.redirect(to: "/utilisateurs?desactive=\(name)", type: .normal)
            } catch let error as AppError where error.kind == .conflict {
                let user = try await users.get(id: id)
                return try renderer.response("users/form", editUserForm(context, user: user, values: nil, errors: ["_form": error.message], notice: nil), status: .conflict)
            }
        }
        group.get("/outils-mcp") { _, context in
            try await mcpToolsPage(context)
        }
        group.get("/audit") { request, context in
            try await auditPage(request, context)
        }
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await request.decodeForm(context: context)
        let username = form["username"] ?? ""
        let next = Self.safeNext(form["suivant"])
        do {
            let result = try await auth.login(username: username, password: form["password"] ?? "", client: context.client(of: request))
            var response = Response.redirect(to: next, type: .normal)
            response.setCookie(AuthController.sessionCookie(result.token, expiresAt: result.expiresAt, secure: request.isSecure))
            return response
        } catch let error as AppError where error.kind != .internalError && error.kind != .unavailable {
            var response = try renderer.response(
                "auth/login", LoginPage(chrome: .anonymous(title: "Connexion"), username: username, next: next, error: error.message), status: error.kind.status
            )
            ErrorMiddleware.addHeaders(of: error, for: request, to: &response.headers)
            return response
        }
    }

    // MARK: - View models

    func chrome(_ title: String, _ context: AuthenticatedContext, current: String) -> Chrome {
        chrome(title, identity: context.identity, current: current)
    }

    func chrome(_ title: String, identity: Identity, current: String) -> Chrome {
        let user = identity.user
        var nav = [NavLink(label: "Accueil", href: "/", current: current == "/")]
        for module in ProductModule.all where user.level >= module.minimumLevel {
            if let path = module.path { nav.append(NavLink(label: module.name.capitalized, href: path, current: current == path)) }
        }
        if user.level >= .n3 { nav.append(NavLink(label: "Outils MCP", href: "/outils-mcp", current: current == "/outils-mcp")) }
        if user.level >= .n4 { nav.append(NavLink(label: "Audit", href: "/audit", current: current == "/audit")) }
        return Chrome(
            title: title, signedIn: true, username: user.username, levelCode: user.level.rawValue, levelLabel: user.level.frenchLabel,
            csrfToken: tokens.csrfToken(sessionID: identity.sessionID), nav: nav, timeZone: format.timeZone.identifier
        )
    }

    static func tiles(for level: AccreditationLevel) -> [ModuleTile] {
        ProductModule.all.map { module in
            let allowed = level >= module.minimumLevel
            let reason: String? =
                if !allowed { "Réservé au niveau \(module.minimumLevel.rawValue) et plus" }
                else if module.path == nil { "Bientôt disponible" }
                else { nil }
            return ModuleTile(name: module.name, icon: module.icon, description: module.description, href: reason == nil ? module.path : nil, unavailableReason: reason)
        }
    }

    func accountPage(_ context: AuthenticatedContext, errors: [String: String] = [:], notice: String? = nil) -> AccountPage {
        let user = UserDTO(context.user)
        let percent = user.tokenQuota > 0 ? min(100, user.tokensUsed * 100 / user.tokenQuota) : 100
        return AccountPage(
            chrome: chrome("Mon compte", context, current: "/compte"), username: user.username, role: user.role,
            levelCode: user.accreditationLevel.rawValue, levelLabel: user.accreditationLevel.frenchLabel, tokensUsed: format.integer(user.tokensUsed),
            tokenQuota: format.integer(user.tokenQuota), tokenPercent: percent, lastLogin: format.relative(user.lastLoginAt), errors: errors, notice: notice,
            error: nil
        )
    }

    func userRow(_ user: User) -> UserRow {
        let dto = UserDTO(user)
        return UserRow(
            id: user.id, username: user.username, role: user.role, levelCode: user.level.rawValue,
            tokens: "\(format.compact(dto.tokensUsed))/\(format.compact(dto.tokenQuota))",
            tokensTitle: "\(format.integer(dto.tokensUsed)) tokens utilisés sur \(format.integer(dto.tokenQuota))",
            lastLogin: format.relative(user.lastLoginAt), lastLoginISO: user.lastLoginAt.map(FrenchFormat.iso), active: user.active
        )
    }

    func newUserForm(_ context: AuthenticatedContext, values: [String: String], errors: [String: String]) -> UserFormPage {
        UserFormPage(
            chrome: chrome("Nouvel utilisateur", context, current: "/utilisateurs"), isNew: true, id: 0, heading: "Nouvel utilisateur",
            action: "/utilisateurs/nouveau", username: values["username"] ?? "", tokenQuota: values["token_quota"] ?? String(UserRules.defaultTokenQuota),
            active: values.isEmpty || values["active"] != nil, roles: Option.roles(selected: values["role"] ?? "tech"),
            levels: Option.levels(selected: values["accreditation_level"] ?? "N1"), errors: errors, error: errors["_form"], notice: nil, lastLogin: "", createdAt: "", canDeactivate: false
        )
    }

    func editUserForm(_ context: AuthenticatedContext, user: User, values: [String: String]?, errors: [String: String], notice: String?) -> UserFormPage {
        UserFormPage(
            chrome: chrome("Utilisateur \(user.username)", context, current: "/utilisateurs"), isNew: false, id: user.id,
            heading: "Utilisateur « \(user.username) »", action: "/utilisateurs/\(user.id)", username: values?["username"] ?? user.username,
            tokenQuota: values?["token_quota"] ?? String(user.tokenQuota), active: values.map { $0["active"] != nil } ?? user.active,
            roles: Option.roles(selected: values?["role"] ?? user.role), levels: Option.levels(selected: values?["accreditation_level"] ?? user.level.rawValue),
            errors: errors, error: errors["_form"], notice: notice, lastLogin: format.relative(user.lastLoginAt), createdAt: format.day(user.createdAt),
            canDeactivate: user.active && user.id != context.user.id
        )
    }

    func auditPage(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let query = request.uri.queryParameters
        var error: String?
        var filter = AuditFilter(limit: 50)
        do {
            filter = try UsersController.auditFilter(query, timeZone: format.timeZone, blankMeansAny: true)
        } catch let appError as AppError {
            error = appError.message
        }
        let entries = error == nil ? try await audit.list(filter) : []
        let everyone = try await users.list(search: nil)
        let actions = try await audit.actions()
        let rows = entries.map { entry in
            AuditRow(
                id: entry.id, at: format.dateTime(entry.createdAt), atISO: FrenchFormat.iso(entry.createdAt),
                username: entry.username ?? "—", action: entry.action,
                target: [entry.targetType, entry.targetID].compactMap { $0 }.joined(separator: " #"),
                details: entry.details.map(\.jsonText) ?? "", ipAddress: entry.ipAddress ?? ""
            )
        }
        var olderHref: String?
        if entries.count == filter.limit, let last = entries.last {
            var items = URLComponents()
            items.queryItems = query.filter { $0.key != "before" }.map { URLQueryItem(name: String($0.key), value: String($0.value)) }
                + [URLQueryItem(name: "before", value: String(last.id))]
            olderHref = "/audit?" + (items.percentEncodedQuery ?? "")
        }
        func value(_ name: String) -> String { query[Substring(name)].map(String.init) ?? "" }
        var header = chrome("Journal d'audit", context, current: "/audit")
        header.channels = EventChannel.audit.rawValue
        header.scripts = ["audit-live.js"]
        return try renderer.response(
            "audit/list",
            AuditPageModel(
                chrome: header, rows: rows, filterUser: value("user_id"), filterAction: value("action"),
                filterTargetType: value("target_type"), filterTargetID: value("target_id"), filterFrom: value("from"), filterTo: value("to"),
                actions: actions.map { Option(value: $0, label: $0, selected: $0 == value("action")) },
                users: everyone.map { Option(value: String($0.id), label: $0.username, selected: String($0.id) == value("user_id")) },
                olderHref: olderHref, error: error
            ),
            status: error == nil ? .ok : .badRequest
        )
    }

    /// The French error page, or the login page for a visitor who is not signed in.
    func errorResponse(_ error: AppError, request: Request, context: AppRequestContext) -> Response {
        if error.kind == .unauthorized {
            let target = request.uri.path == "/" ? "/connexion" : "/connexion?suivant=" + (request.uri.string.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
            return Response.redirect(to: target, type: .found)
        }
        let heading: String =
            switch error.kind {
            case .notFound: "Page introuvable"
            case .forbidden: "Accès refusé"
            case .tooManyRequests: "Trop de requêtes"
            case .unavailable: "Service momentanément indisponible"
            case .methodNotAllowed: "Action non prise en charge"
            default: error.kind.status.code >= 500 ? "Erreur interne" : "Requête invalide"
            }
        // A signed-in visitor keeps the header (navigation, account, logout) on error pages too.
        let header = context.identity.map { chrome(heading, identity: $0, current: "") } ?? Chrome.anonymous(title: heading)
        let page = ErrorPage(chrome: header, status: Int(error.kind.status.code), heading: heading, message: error.message)
        var response =
            (try? renderer.response("errors/error", page, status: error.kind.status))
            ?? Response(status: error.kind.status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: error.message)))
        ErrorMiddleware.addHeaders(of: error, for: request, to: &response.headers)
        return response
    }

    // MARK: - Form parsing

    /// Where to go after logging in: a path of this site only. Browsers drop tabs and newlines from URLs, so
    /// "/\t/evil.example" would become "//evil.example": any control character or space is refused outright.
    static func safeNext(_ candidate: String?) -> String {
        guard let candidate, candidate.hasPrefix("/"), !candidate.hasPrefix("//"), !candidate.contains("\\"),
            !candidate.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) || CharacterSet.whitespaces.contains($0) }),
            let components = URLComponents(string: candidate), components.scheme == nil, components.host == nil,
            !candidate.hasPrefix("/connexion")
        else { return "/" }
        return candidate
    }

    static func level(_ text: String?) throws -> AccreditationLevel {
        guard let text, let level = AccreditationLevel(rawValue: text) else {
            throw AppError.invalidField("accreditation_level", "Choisissez un niveau d'accréditation (N0 à N4).")
        }
        return level
    }

    static func quota(_ text: String?) throws -> Int {
        let cleaned = (text ?? "").filter { !$0.isWhitespace && $0 != "\u{202F}" }
        guard let quota = Int(cleaned) else { throw AppError.invalidField("token_quota", "Le quota de tokens doit être un nombre entier.") }
        try UserRules.validateQuota(quota)
        return quota
    }

    static func pageUserID(_ context: AuthenticatedContext) throws -> Int {
        guard let text = context.parameters.get("id"), let id = Int(text), id > 0, id <= Int(Int32.max) else {
            throw AppError(.notFound, "Utilisateur introuvable.")
        }
        return id
    }

    static func fieldErrors(_ error: AppError) -> [String: String] {
        [error.field ?? "_form": error.message]
    }
}
