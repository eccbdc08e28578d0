import Foundation
import Hummingbird

/// Signing in and out, and one's own account page. The forms post back here, so they work before any script runs.
struct LoginPages {
    static let accessRules = [
        RouteRule(.get, "/connexion", .anonymous),
        RouteRule(.post, "/connexion", .anonymous),
        RouteRule(.post, "/deconnexion", .level(.n0)),
        RouteRule(.get, "/compte", .level(.n0)),
        RouteRule(.post, "/compte/mot-de-passe", .level(.n0)),
    ]

    let auth: AuthService
    let pages: Pages
    let proxies: TrustedProxies
    let meter: TokenMeter

    func addRoutes(to routes: ModuleRoutes) {
        routes.anyone.get("/connexion") { request, context in
            if context.identity != nil { return Response.redirect(to: "/", type: .found) }
            let next = pages.afterLogin(request.formQuery["suivant"])
            return try pages.response(LoginPage(chrome: .anonymous(title: "Connexion"), username: "", next: next, error: nil))
        }
        routes.anyone.post("/connexion") { request, context in
            let form = try await request.decodeForm(context: context)
            let username = form["username"] ?? ""
            let next = pages.afterLogin(form["suivant"])
            return try await pages.submitting {
                let result = try await auth.login(username: username, password: form["password"] ?? "", client: context.client(of: request))
                var response = Response.redirect(to: next, type: .normal)
                response.setCookie(SessionCookie.issued(result.token, expiresAt: result.expiresAt, secure: context.isSecure(request, behind: proxies)))
                return response
            } orShowAgain: { errors in
                try pages.response(LoginPage(chrome: .anonymous(title: "Connexion"), username: username, next: next, error: errors.values.first))
            }
        }
        routes.signedIn.post("/deconnexion") { request, context in
            try await auth.logout(context.identity, client: context.client(of: request))
            var response = Response.redirect(to: "/connexion", type: .normal)
            response.setCookie(SessionCookie.expired(secure: context.isSecure(request, behind: proxies)))
            return response
        }
        routes.signedIn.get("/compte") { request, context in
            let changed = request.formQuery["modifie"] != nil
            return try pages.response(await accountPage(context, notice: changed ? "Mot de passe modifié. Vos autres sessions ont été fermées." : nil))
        }
        routes.signedIn.post("/compte/mot-de-passe") { request, context in
            let form = try await request.decodeForm(context: context)
            return try await pages.submitting {
                try UserRules.confirm(form["new_password"] ?? "", again: form["new_password_confirm"] ?? "", field: "new_password_confirm")
                try await auth.changePassword(
                    context.identity, current: form["current_password"] ?? "", new: form["new_password"] ?? "", client: context.client(of: request)
                )
                return Response.redirect(to: "/compte?modifie=1", type: .normal)
            } orShowAgain: { errors in
                try pages.response(await accountPage(context, errors: errors))
            }
        }
    }

    func accountPage(_ context: AuthenticatedContext, errors: [String: String] = [:], notice: String? = nil) async -> AccountPage {
        let user = UserOutput(context.user, tokensUsed: await meter.used(by: context.user.id))
        let format = pages.format
        let percent = user.tokenQuota > 0 ? min(100, user.tokensUsed * 100 / user.tokenQuota) : 100
        return AccountPage(
            chrome: await pages.chrome("Mon compte", context, current: "/compte"), username: user.username, role: user.role,
            levelCode: user.accreditationLevel.rawValue, levelLabel: user.accreditationLevel.frenchLabel, tokensUsed: format.integer(user.tokensUsed),
            tokenQuota: format.integer(user.tokenQuota), tokenPercent: percent, lastLogin: format.relative(user.lastLoginAt), errors: errors, notice: notice,
            error: errors["_form"]
        )
    }

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
}

struct LoginPage: PageModel {
    static let template = "auth/login"
    let chrome: Chrome
    let username: String
    let next: String
    let error: String?
    /// After a failed attempt the name is kept, so the cursor goes to the password.
    var focusPassword: Bool { !username.isEmpty }
}

struct AccountPage: PageModel {
    static let template = "auth/account"
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
    let passwordRule = UserRules.passwordRule
}
