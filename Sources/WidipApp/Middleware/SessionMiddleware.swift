import Hummingbird

/// Finds the identity (or the workflow) behind the `Authorization: Bearer` header or the session cookie. An absent, invalid or revoked
/// token leaves the request anonymous; the access middleware decides whether that is enough.
///
/// It runs before the error middleware, so that an error page shown to a signed-in user keeps the header; a failure
/// of the lookup itself (a database outage) is answered by that same error middleware.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let auth: AuthService
    let workflows: WorkflowTokens
    let errors: ErrorMiddleware

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Stylesheets and scripts are public: no session lookup for them.
        if request.uri.path.hasPrefix("/static/") { return try await next(request, context) }
        var context = context
        do {
            // An Authorization header wins over the cookie, even when it is not a bearer token.
            if request.headers[.authorization] != nil {
                if let token = request.bearerToken {
                    if let workflow = workflows.workflow(presenting: token) {
                        context.workflow = workflow
                    } else {
                        context.identity = try await auth.authenticate(token: token, viaCookie: false)
                    }
                }
            } else if let cookie = request.sessionCookieToken {
                context.identity = try await auth.authenticate(token: cookie, viaCookie: true)
            }
        } catch {
            return errors.response(for: error, request: request, context: context)
        }
        return try await next(request, context)
    }
}
