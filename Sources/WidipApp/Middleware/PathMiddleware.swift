import Foundation
import Hummingbird

/// Paths this server refuses before any route or file is looked up.
struct PathMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // A decoded NUL ends a file name early: "/static/js/app.js%00.html" would serve app.js as text/html.
        let decoded = request.uri.path.removingPercentEncoding ?? request.uri.path
        guard !decoded.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw AppError(.badRequest, code: "invalid_path", "Adresse invalide : elle contient un caractère de contrôle.")
        }
        let response = try await next(request, context)
        // Static files have no folder pages; Hummingbird would redirect "/static/js" to "/js/", which does not exist.
        if request.uri.path.hasPrefix("/static/"), (300..<400).contains(response.status.code), response.status != .notModified {
            throw AppError(.notFound, "Page introuvable.")
        }
        return response
    }
}
