import Foundation
import Hummingbird

/// `/api/auth/*` (PRD 2.1, 6): HTTP only; rules live in `AuthService`.
struct AuthController {
    static let accessRules = [
        RouteRule(.post, "/api/auth/login", .anonymous),
        RouteRule(.post, "/api/auth/logout", .level(.n0)),
        RouteRule(.get, "/api/auth/me", .level(.n0)),
        RouteRule(.post, "/api/auth/password", .level(.n0)),
    ]

    let auth: AuthService
    let tokens: TokenService
    let proxies: TrustedProxies
    let meter: TokenMeter

    struct LoginInput: Decodable {
        let username: String
        let password: String
    }

    struct LoginOutput: Encodable, Sendable {
        let accessToken: String
        let tokenType = "bearer"
        let expiresAt: Date
        let user: UserOutput

        enum CodingKeys: String, CodingKey {
            case user
            case accessToken = "access_token"
            case tokenType = "token_type"
            case expiresAt = "expires_at"
        }
    }

    struct MeOutput: Encodable, Sendable {
        let user: UserOutput
        let accreditationLevel: AccreditationLevel
        let levelLabel: String
        let tokens: TokenUsage
        let csrfToken: String

        enum CodingKeys: String, CodingKey {
            case user, tokens
            case accreditationLevel = "accreditation_level"
            case levelLabel = "level_label"
            case csrfToken = "csrf_token"
        }
    }

    struct TokenUsage: Encodable, Sendable {
        let used: Int
        let quota: Int
    }

    struct PasswordInput: Decodable {
        let currentPassword: String
        let newPassword: String

        enum CodingKeys: String, CodingKey {
            case currentPassword = "current_password"
            case newPassword = "new_password"
        }
    }

    func addRoutes(public router: RouterGroup<AppRequestContext>, authenticated group: RouterGroup<AuthenticatedContext>) {
        router.post("/api/auth/login") { request, context in
            let input = try await request.decodeJSON(LoginInput.self, context: context)
            let result = try await auth.login(username: input.username, password: input.password, client: context.client(of: request))
            var response = try JSONBody(
                LoginOutput(accessToken: result.token, expiresAt: result.expiresAt, user: UserOutput(result.user))
            ).response(from: request, context: context)
            response.setCookie(SessionCookie.issued(result.token, expiresAt: result.expiresAt, secure: context.isSecure(request, behind: proxies)))
            return response
        }
        group.post("/api/auth/logout") { request, context in
            try await auth.logout(context.identity, client: context.client(of: request))
            var response = Response(status: .noContent)
            response.setCookie(SessionCookie.expired(secure: context.isSecure(request, behind: proxies)))
            return response
        }
        group.get("/api/auth/me") { request, context in
            let user = context.user
            let used = await meter.used(by: user.id)
            return JSONBody(
                MeOutput(
                    user: UserOutput(user, tokensUsed: used), accreditationLevel: user.level, levelLabel: user.level.frenchLabel,
                    tokens: TokenUsage(used: used, quota: user.tokenQuota),
                    csrfToken: tokens.csrfToken(sessionID: context.identity.sessionID)
                )
            )
        }
        group.post("/api/auth/password") { request, context in
            let input = try await request.decodeJSON(PasswordInput.self, context: context)
            try await auth.changePassword(context.identity, current: input.currentPassword, new: input.newPassword, client: context.client(of: request))
            return Response(status: .noContent)
        }
    }
}
