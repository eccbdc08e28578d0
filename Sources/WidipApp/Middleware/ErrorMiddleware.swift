import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// What answers a failed page request: the French error page, or the login page for a visitor who is not signed in.
protocol ErrorPageRendering: Sendable {
    func errorPage(_ error: AppError, request: Request, context: AppRequestContext) -> Response
}

/// The one place errors become responses: a JSON envelope under `/api`, a French page elsewhere.
/// Anything that is not an `AppError` is logged and answered as a generic 500: no internal text leaves the server.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let table: RouteAccessTable
    let pages: any ErrorPageRendering

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return response(for: error, request: request, context: context)
        }
    }

    func response(for error: any Error, request: Request, context: Context) -> Response {
        let appError = Self.appError(for: error, request: request, table: table, logger: context.logger)
        var response =
            request.isAPI || request.uri.path == "/health"
            ? Self.jsonResponse(for: appError) : pages.errorPage(appError, request: request, context: context)
        response.headers.append(contentsOf: appError.responseHeaders)
        if appError.kind == .methodNotAllowed {
            response.headers[.allow] = table.allowedMethods(forPath: request.uri.path).map(\.rawValue).joined(separator: ", ")
        }
        return response
    }

    static func appError(for error: any Error, request: Request, table: RouteAccessTable, logger: Logger) -> AppError {
        switch error {
        case let error as AppError:
            if error.kind == .internalError { logger.error("Internal error", metadata: ["code": "\(error.code)"]) }
            return error
        case let error as any HTTPResponseError:
            switch error.status {
            case .notFound:
                let allowed = table.allowedMethods(forPath: request.uri.path)
                if !allowed.isEmpty {
                    return AppError(.methodNotAllowed, "Méthode \(request.method.rawValue) non prise en charge sur cette adresse.")
                }
                return AppError(.notFound, "Cette adresse n'existe pas.")
            case .contentTooLarge:
                return AppError(.payloadTooLarge, "Le corps de la requête est trop volumineux.")
            case .unsupportedMediaType:
                return AppError(.unsupportedMediaType, "Type de contenu non pris en charge.")
            case .methodNotAllowed:
                return AppError(.methodNotAllowed, "Méthode non prise en charge sur cette adresse.")
            case .badRequest:
                return AppError(.badRequest, "Requête invalide.")
            default:
                logger.warning("HTTP error", metadata: ["status": "\(error.status.code)"])
                return error.status.code >= 500 ? .internalFailure : AppError(.badRequest, "Requête invalide.")
            }
        case let error as DecodingError:
            return Request.appError(for: error)
        case let error as PSQLError where ["22001", "22021", "22P05", "54000"].contains(error.serverInfo?[.sqlState] ?? ""):
            // Text Postgres cannot store (too long for its column, a NUL character, an invalid encoding) is bad input.
            return AppError(.badRequest, code: "invalid_text", "Le texte envoyé contient des caractères non autorisés.")
        case is PSQLError, is PostgresError:
            logger.error("Database error", metadata: ["error": "\(String(reflecting: error))"])
            return .databaseUnavailable
        default:
            logger.error("Unexpected error", metadata: ["error": "\(String(reflecting: error))"])
            return .internalFailure
        }
    }

    struct Envelope: Encodable, Sendable {
        struct Body: Encodable, Sendable {
            let code: String
            let message: String
            let field: String?
            let details: [String: String]?
        }
        let error: Body
    }

    static func jsonResponse(for error: AppError) -> Response {
        let envelope = Envelope(error: .init(code: error.code, message: error.message, field: error.field, details: error.details))
        let data = (try? JSONBody<Envelope>.encoder.encode(envelope)) ?? Data(#"{"error":{"code":"internal_error","message":"Erreur interne."}}"#.utf8)
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if error.kind == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: error.kind.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension AppError {
    /// What an error answer says besides its body, for pages, forms and API alike: when to retry.
    var responseHeaders: HTTPFields {
        var headers = HTTPFields()
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return headers
    }
}
