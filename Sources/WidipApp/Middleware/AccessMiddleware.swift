import HTTPTypes
import Foundation
import Hummingbird

/// Enforces the route access table on the matched route, the per-user request budget, and CSRF protection for
/// cookie-authenticated state changes (Origin check plus a per-session token).
struct AccessMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    static let csrfFormField = "_csrf"

    let table: RouteAccessTable
    let tokens: TokenService
    let limiter: RateLimiter
    let requestsPerMinute: Int
    let trustedOrigins: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // No matched route: let the router answer 404/405.
        guard let path = context.endpointPath else { return try await next(request, context) }
        let isSafe = [.get, .head, .options].contains(request.method)
        if !isSafe { try checkOrigin(request) }
        guard let access = table.access(method: request.method, path: path) else {
            context.logger.error("Route missing from the access table", metadata: ["route": "\(request.method) \(path)"])
            throw AppError.insufficientLevel
        }
        let minimum: AccreditationLevel
        switch access {
        case .anonymous:
            return try await next(request, context)
        case .workflow, .levelOrWorkflow:
            if let workflow = context.workflow {
                try await limiter.hit("workflow:\(workflow)", limit: requestsPerMinute)
                return try await next(request, context)
            }
            guard case .levelOrWorkflow(let level) = access else {
                throw context.identity == nil ? AppError.notAuthenticated : AppError.workflowOnly
            }
            minimum = level
        case .level(let level):
            if context.workflow != nil { throw AppError.usersOnly }
            minimum = level
        }
        guard let identity = context.identity else { throw AppError.notAuthenticated }
        guard identity.user.level >= minimum else { throw AppError.insufficientLevel }
        try await limiter.hit("user:\(identity.user.id)", limit: requestsPerMinute)
        if !isSafe && identity.viaCookie {
            return try await next(try await checkCSRFToken(request, identity: identity, context: context), context)
        }
        return try await next(request, context)
    }

    /// A browser always sends `Origin` on a cross-site state-changing request: it must be this site or a trusted one.
    private func checkOrigin(_ request: Request) throws {
        let origin = request.headers[.origin] ?? request.headers[.referer].flatMap(Self.origin(ofURL:))
        guard let origin else { return }
        guard request.isFromTrusted(origin: origin, trusted: trustedOrigins) else {
            throw AppError(.forbidden, code: "csrf_origin", "Requête refusée : elle ne provient pas de ce site.")
        }
    }

    private func checkCSRFToken(_ request: Request, identity: Identity, context: Context) async throws -> Request {
        if let header = request.headers[Self.csrfHeader] {
            guard tokens.isValidCSRFToken(header, sessionID: identity.sessionID) else { throw Self.csrfRefused }
            return request
        }
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else { throw Self.csrfRefused }
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        let fields = Request.parseForm(String(buffer: body))
        guard let token = fields[Self.csrfFormField], tokens.isValidCSRFToken(token, sessionID: identity.sessionID) else { throw Self.csrfRefused }
        return request
    }

    static let csrfRefused = AppError(.forbidden, code: "csrf_token", "Jeton de sécurité manquant ou expiré : rechargez la page et recommencez.")

    static func origin(ofURL text: String) -> String? {
        guard let url = URL(string: text), let scheme = url.scheme, let host = url.host else { return nil }
        return url.port.map { "\(scheme)://\(host):\($0)" } ?? "\(scheme)://\(host)"
    }
}
