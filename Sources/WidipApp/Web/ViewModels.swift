import Foundation

/// The product's modules as the home page and the header show them (PRD 1.4).
struct ProductModule {
    let name: String
    /// Symbol id in /static/img/icons.svg.
    let icon: String
    let description: String
    let minimumLevel: AccreditationLevel
    /// Nil until the module's pages exist.
    let path: String?

    static let all = [
        ProductModule(name: "WIBOT", icon: "wibot", description: "Assistant IA : Flash, Code, Rédaction, Assistant WIDIP", minimumLevel: .n0, path: nil),
        ProductModule(name: "SAFEGUARD", icon: "safeguard", description: "Approbation des actions sensibles (L3)", minimumLevel: .n1, path: nil),
        ProductModule(name: "SUPERVISION", icon: "supervision", description: "Tableaux de bord des workflows en temps réel", minimumLevel: .n3, path: nil),
        ProductModule(name: "UTILISATEURS", icon: "users", description: "Comptes, niveaux d'accréditation, quotas et journal d'audit", minimumLevel: .n4, path: "/utilisateurs"),
    ]
}

struct NavLink {
    let label: String
    let href: String
    let current: Bool
}

struct ModuleTile {
    let name: String
    let icon: String
    let description: String
    let href: String?
    /// Why the tile is greyed, when it is.
    let unavailableReason: String?
}

/// What every page's layout needs: the signed-in user, the navigation and the CSRF token for forms.
struct Chrome {
    let title: String
    let signedIn: Bool
    let username: String
    let levelCode: String
    let levelLabel: String
    let csrfToken: String
    let nav: [NavLink]
    /// Real-time channels this page follows (space-separated, read by realtime.js); nil on pages without live data.
    var channels: String?
    /// Extra ES modules of this page, under /static/js/.
    var scripts: [String] = []
    var timeZone = "Europe/Paris"

    static func anonymous(title: String) -> Chrome {
        Chrome(title: title, signedIn: false, username: "", levelCode: "", levelLabel: "", csrfToken: "", nav: [])
    }
}

struct Option {
    let value: String
    let label: String
    let selected: Bool

    static func levels(selected: String) -> [Option] {
        AccreditationLevel.allCases.map { Option(value: $0.rawValue, label: "\($0.rawValue) — \($0.frenchLabel)", selected: $0.rawValue == selected) }
    }

    static func roles(selected: String) -> [Option] {
        let labels = ["admin": "admin — administrateur", "tech": "tech — technicien", "user": "user — utilisateur"]
        return UserRules.roles.map { Option(value: $0, label: labels[$0] ?? $0, selected: $0 == selected) }
    }
}

struct LoginPage {
    let chrome: Chrome
    let username: String
    let next: String
    let error: String?
    /// After a failed attempt the name is kept, so the cursor goes to the password.
    var focusPassword: Bool { !username.isEmpty }
}

struct HomePage {
    let chrome: Chrome
    let tiles: [ModuleTile]
}

struct AccountPage {
    let chrome: Chrome
    let username: String
    let role: String
    let levelCode: String
    let levelLabel: String
    let tokensUsed: String
    let tokenQuota: String
    let tokenPercent: Int
    let lastLogin: String
    let errors: [String: String]
    let notice: String?
    let error: String?
}

struct UserRow {
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

struct UsersPage {
    let chrome: Chrome
    let search: String
    let rows: [UserRow]
    let count: String
    let levels: [Option]
    let notice: String?
}

struct UserFormPage {
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
}

struct AuditRow {
    let id: Int
    let at: String
    let atISO: String
    let username: String
    let action: String
    let target: String
    let details: String
    let ipAddress: String
}

struct AuditPageModel {
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
}

struct ErrorPage {
    let chrome: Chrome
    let status: Int
    let heading: String
    let message: String
}
