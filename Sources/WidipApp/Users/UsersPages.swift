import Foundation
import Hummingbird

/// "Utilisateurs" (N4, PRD 3.4): the list, the creation form, and each user's form with deactivation.
struct UsersPages {
    static let accessRules = [
        RouteRule(.get, "/utilisateurs", .level(.n4)),
        RouteRule(.get, "/utilisateurs/nouveau", .level(.n4)),
        RouteRule(.post, "/utilisateurs/nouveau", .level(.n4)),
        RouteRule(.get, "/utilisateurs/{id}", .level(.n4)),
        RouteRule(.post, "/utilisateurs/{id}", .level(.n4)),
        RouteRule(.post, "/utilisateurs/{id}/desactiver", .level(.n4)),
    ]

    let users: UsersService
    let pages: Pages
    let meter: TokenMeter
    var format: FrenchFormat { pages.format }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("/utilisateurs") { request, context in
            let search = request.formQuery["q"] ?? ""
            let list = try await users.list(search: search)
            let notice = request.formQuery["desactive"].map { "Le compte « \($0) » a été désactivé." }
            return try pages.response(
                UsersPage(
                    chrome: await pages.chrome("Utilisateurs", context, current: "/utilisateurs"), search: search, rows: await rows(list),
                    count: Self.count(list.count, format: format), levels: Option.levels(selected: ""), notice: notice
                )
            )
        }
        group.get("/utilisateurs/nouveau") { _, context in
            try pages.response(await newUserForm(context, values: [:], errors: [:]))
        }
        group.post("/utilisateurs/nouveau") { request, context in
            let form = try await request.decodeForm(context: context)
            return try await pages.submitting {
                try UserRules.confirm(form["password"] ?? "", again: form["password_confirm"] ?? "", field: "password_confirm")
                let user = try await users.create(
                    NewUser(
                        username: form["username"] ?? "", password: form["password"] ?? "", role: form["role"] ?? "tech",
                        level: try Self.level(form["accreditation_level"]), tokenQuota: try Self.quota(form["token_quota"]), active: form["active"] != nil
                    ),
                    actorID: context.user.id, client: context.client(of: request)
                )
                return Response.redirect(to: "/utilisateurs/\(user.id)?cree=1", type: .normal)
            } orShowAgain: { errors in
                try pages.response(await newUserForm(context, values: form, errors: errors))
            }
        }
        group.get("/utilisateurs/{id}") { request, context in
            let user = try await users.get(id: try context.userIDParameter())
            let query = request.formQuery
            let notice = query["cree"] != nil ? "Utilisateur créé." : (query["enregistre"] != nil ? "Modifications enregistrées." : nil)
            return try pages.response(await editUserForm(context, user: user, values: nil, errors: [:], notice: notice))
        }
        group.post("/utilisateurs/{id}") { request, context in
            let id = try context.userIDParameter()
            let form = try await request.decodeForm(context: context)
            return try await pages.submitting {
                let password = form["password"].flatMap { $0.isEmpty ? nil : $0 }
                if let password { try UserRules.confirm(password, again: form["password_confirm"] ?? "", field: "password_confirm") }
                _ = try await users.update(
                    id: id,
                    changes: UserChanges(
                        username: form["username"], role: form["role"], level: try Self.level(form["accreditation_level"]),
                        tokenQuota: try Self.quota(form["token_quota"]), active: form["active"] != nil, password: password
                    ),
                    actorID: context.user.id, client: context.client(of: request)
                )
                return Response.redirect(to: "/utilisateurs/\(id)?enregistre=1", type: .normal)
            } orShowAgain: { errors in
                try pages.response(await editUserForm(context, user: try await users.get(id: id), values: form, errors: errors, notice: nil))
            }
        }
        group.post("/utilisateurs/{id}/desactiver") { request, context in
            let id = try context.userIDParameter()
            return try await pages.submitting {
                let user = try await users.deactivate(id: id, actorID: context.user.id, client: context.client(of: request))
                let name = user.username.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? ""
                return Response.redirect(to: "/utilisateurs?desactive=\(name)", type: .normal)
            } orShowAgain: { errors in
                try pages.response(await editUserForm(context, user: try await users.get(id: id), values: nil, errors: errors, notice: nil))
            }
        }
    }

    func rows(_ list: [User]) async -> [UserRow] {
        let used = await meter.used(by: list.map(\.id))
        return list.map { userRow($0, tokensUsed: used[$0.id] ?? 0) }
    }

    func userRow(_ user: User, tokensUsed: Int) -> UserRow {
        let output = UserOutput(user, tokensUsed: tokensUsed)
        return UserRow(
            id: user.id, username: user.username, role: user.role, levelCode: user.level.rawValue,
            tokens: "\(format.compact(output.tokensUsed))/\(format.compact(output.tokenQuota))",
            tokensTitle: "\(format.integer(output.tokensUsed)) jetons utilisés sur \(format.integer(output.tokenQuota))",
            lastLogin: format.relative(user.lastLoginAt), lastLoginISO: user.lastLoginAt.map(FrenchFormat.iso), active: user.active
        )
    }

    func newUserForm(_ context: AuthenticatedContext, values: [String: String], errors: [String: String]) async -> UserFormPage {
        UserFormPage(
            chrome: await pages.chrome("Nouvel utilisateur", context, current: "/utilisateurs"), isNew: true, id: 0, heading: "Nouvel utilisateur",
            action: "/utilisateurs/nouveau", username: values["username"] ?? "", tokenQuota: values["token_quota"] ?? String(UserRules.defaultTokenQuota),
            active: values.isEmpty || values["active"] != nil, roles: Self.roles(selected: values["role"] ?? "tech"),
            levels: Option.levelChoices(selected: values["accreditation_level"] ?? "N1"), errors: errors, error: errors["_form"], notice: nil, lastLogin: "",
            createdAt: "", canDeactivate: false
        )
    }

    func editUserForm(_ context: AuthenticatedContext, user: User, values: [String: String]?, errors: [String: String], notice: String?) async -> UserFormPage {
        UserFormPage(
            chrome: await pages.chrome("Utilisateur \(user.username)", context, current: "/utilisateurs"), isNew: false, id: user.id,
            heading: "Utilisateur « \(user.username) »", action: "/utilisateurs/\(user.id)", username: values?["username"] ?? user.username,
            tokenQuota: values?["token_quota"] ?? String(user.tokenQuota), active: values.map { $0["active"] != nil } ?? user.active,
            roles: Self.roles(selected: values?["role"] ?? user.role), levels: Option.levelChoices(selected: values?["accreditation_level"] ?? user.level.rawValue),
            errors: errors, error: errors["_form"], notice: notice, lastLogin: format.relativeInSentence(user.lastLoginAt), createdAt: format.day(user.createdAt),
            canDeactivate: user.active && user.id != context.user.id
        )
    }

    static func count(_ count: Int, format: FrenchFormat) -> String {
        switch count {
        case 0: "Aucun utilisateur"
        case 1: "1 utilisateur"
        default: "\(format.integer(count)) utilisateurs"
        }
    }

    static func roles(selected: String) -> [Option] {
        let labels = ["admin": "admin — administrateur", "tech": "tech — technicien", "user": "user — utilisateur"]
        return UserRules.roles.map { Option(value: $0, label: labels[$0] ?? $0, selected: $0 == selected) }
    }

    static func level(_ text: String?) throws -> AccreditationLevel {
        guard let text, let level = AccreditationLevel(rawValue: text) else {
            throw AppError.invalidField("accreditation_level", "Choisissez un niveau d'accréditation (N0 à N4).")
        }
        return level
    }

    static func quota(_ text: String?) throws -> Int {
        let cleaned = (text ?? "").filter { !$0.isWhitespace && $0 != "\u{202F}" }
        guard let quota = Int(cleaned) else { throw AppError.invalidField("token_quota", "Le quota de jetons doit être un nombre entier.") }
        try UserRules.validateQuota(quota)
        return quota
    }
}

struct UserRow: Sendable {
    let id: Int
    let username: String
    let role: String
    let levelCode: String
    let tokens: String
    let tokensTitle: String
    let lastLogin: String
    let lastLoginISO: String?
    let active: Bool
}

struct UsersPage: PageModel {
    static let template = "users/list"
    let chrome: Chrome
    let search: String
    let rows: [UserRow]
    let count: String
    let levels: [Option]
    let notice: String?
}

struct UserFormPage: PageModel {
    static let template = "users/form"
    let chrome: Chrome
    let isNew: Bool
    let id: Int
    let heading: String
    let action: String
    let username: String
    let tokenQuota: String
    let active: Bool
    let roles: [Option]
    let levels: [Option]
    let errors: [String: String]
    let error: String?
    let notice: String?
    let lastLogin: String
    let createdAt: String
    /// One cannot deactivate oneself: the button is not offered on one's own page.
    let canDeactivate: Bool
    let usernameRule = UserRules.usernameRule
    let passwordRule = UserRules.passwordRule
}
