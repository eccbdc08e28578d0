import HTTPTypes

/// The one error type of the product. Services throw it with a French message a user can act on; the edges map it
/// to a JSON envelope (`/api`), a French error page, or a close code. Internal details never go in `message`.
public struct AppError: Error, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case badRequest = "bad_request"
        case unauthorized
        case forbidden
        case notFound = "not_found"
        case methodNotAllowed = "method_not_allowed"
        case conflict
        case payloadTooLarge = "payload_too_large"
        case unsupportedMediaType = "unsupported_media_type"
        case unprocessable = "unprocessable"
        case tooManyRequests = "rate_limited"
        case unavailable
        case badGateway = "bad_gateway"
        case gatewayTimeout = "gateway_timeout"
        case internalError = "internal_error"

        public var status: HTTPResponse.Status {
            switch self {
            case .badRequest: .badRequest
            case .unauthorized: .unauthorized
            case .forbidden: .forbidden
            case .notFound: .notFound
            case .methodNotAllowed: .methodNotAllowed
            case .conflict: .conflict
            case .payloadTooLarge: .contentTooLarge
            case .unsupportedMediaType: .unsupportedMediaType
            case .unprocessable: .unprocessableContent
            case .tooManyRequests: .tooManyRequests
            case .unavailable: .serviceUnavailable
            case .badGateway: .badGateway
            case .gatewayTimeout: .gatewayTimeout
            case .internalError: .internalServerError
            }
        }
    }

    public var kind: Kind
    /// A stable, machine-readable code (`invalid_field`, `invalid_credentials`, …).
    public var code: String
    public var message: String
    /// The request field at fault, for 400/422 answers.
    public var field: String?
    /// Seconds before a retry makes sense, for 429 answers.
    public var retryAfter: Int?
    /// Machine-readable facts about the refusal (a 409's current state and who decided).
    public var details: [String: String]?

    public init(_ kind: Kind, code: String? = nil, _ message: String, field: String? = nil, retryAfter: Int? = nil, details: [String: String]? = nil) {
        self.details = details
        self.kind = kind
        self.code = code ?? kind.rawValue
        self.message = message
        self.field = field
        self.retryAfter = retryAfter
    }

    public static func invalidField(_ field: String, _ message: String) -> AppError {
        AppError(.badRequest, code: "invalid_field", message, field: field)
    }

    public static let notAuthenticated = AppError(.unauthorized, code: "not_authenticated", "Connexion requise : votre session a expiré ou n'existe pas.")
    public static let insufficientLevel = AppError(.forbidden, code: "insufficient_level", "Votre niveau d'accréditation ne permet pas cette action.")
    public static let internalFailure = AppError(.internalError, "Une erreur interne est survenue ; réessayez dans un instant.")
    public static let databaseUnavailable = AppError(.unavailable, code: "database_unavailable", "La base de données ne répond pas ; réessayez dans un instant.")

    public static func tooManyRequests(retryAfter seconds: Int) -> AppError {
        AppError(.tooManyRequests, "Trop de tentatives : réessayez dans \(seconds) s.", retryAfter: seconds)
    }
}
