import Hummingbird

/// Finds the identity behind the `Authorization: Bearer` header or the session cookie. An absent, invalid or revoked
/// token leaves the request anonymous; the access middleware decides whether that is enough.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let cookieName = "widip_session"

    let auth: AuthService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Stylesheets and scripts are public: no session lookup for them.
        if request.uri.path.hasPrefix("/static/") { return try await next(request, context) }
        var context = context
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                context.identity = try await auth.authenticate(token: String(parts[1]), viaCookie: false)
            }
        } else if let cookie = request.cookies[Self.cookieName]?.value, !cookie.isEmpty {
            context.identity = try await auth.authenticate(token: cookie, viaCookie: true)
        }
        return try await next(request, context)
    }
}
