import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// The one place errors become responses: a JSON envelope under `/api`, a French page elsewhere.
/// Anything that is not an `AppError` is logged and answered as a generic 500: no internal text leaves the server.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    /// Renders the French error page (or the login redirect) for non-API requests.
    let renderPage: @Sendable (AppError, Request, AppRequestContext) async -> Response

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let appError = Self.appError(for: error, request: request, logger: context.logger)
            if request.isAPI || request.uri.path == "/health" {
                return Self.jsonResponse(for: appError, request: request)
            }
            return await renderPage(appError, request, context)
        }
    }

    static func appError(for error: any Error, request: Request, logger: Logger) -> AppError {
        switch error {
        case let error as AppError:
            if error.kind == .internalError { logger.error("Internal error", metadata: ["code": "\(error.code)"]) }
            return error
        case let error as any HTTPResponseError:
            switch error.status {
            case .notFound:
                let allowed = RouteAccessTable.allowedMethods(forPath: request.uri.path)
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
        }
        let error: Body
    }

    static func jsonResponse(for error: AppError, request: Request) -> Response {
        let envelope = Envelope(error: .init(code: error.code, message: error.message, field: error.field))
        let data = (try? JSONBody<Envelope>.encoder.encode(envelope)) ?? Data(#"{"error":{"code":"internal_error","message":"Erreur interne."}}"#.utf8)
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        addHeaders(of: error, for: request, to: &headers)
        if error.kind == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: error.kind.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// What an error answer says besides its body, for pages and API alike: when to retry, which methods exist.
    static func addHeaders(of error: AppError, for request: Request, to headers: inout HTTPFields) {
        if let retryAfter = error.retryAfter { headers[.retryAfter] = String(retryAfter) }
        if error.kind == .methodNotAllowed {
            headers[.allow] = RouteAccessTable.allowedMethods(forPath: request.uri.path).map(\.rawValue).joined(separator: ", ")
        }
    }
}
