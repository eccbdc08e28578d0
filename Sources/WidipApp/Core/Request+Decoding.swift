import HTTPTypes
import Foundation
import Hummingbird

extension Request {
    /// Decodes a JSON body, turning every failure into a 400/413/415 `AppError` that names the field at fault.
    func decodeJSON<Value: Decodable>(_ type: Value.Type, context: some RequestContext) async throws -> Value {
        // The media type itself, parameters (charset) aside: "application/jsonx" is not JSON.
        let mediaType = (headers[.contentType] ?? "").split(separator: ";", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" else {
            throw AppError(.unsupportedMediaType, "Le corps de la requête doit être du JSON (Content-Type: application/json).")
        }
        var request = self
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        let data = Data(buffer: body)
        // Foundation's decoder accepts a comma before "}" or "]"; JSON (RFC 8259) does not, nor do other clients' parsers.
        guard !Self.hasTrailingComma(data) else {
            throw AppError(.badRequest, code: "invalid_json", "Le corps de la requête n'est pas un JSON valide (virgule en trop).", field: "body")
        }
        do {
            return try JSONDecoder().decode(Value.self, from: data)
        } catch let error as DecodingError {
            throw Self.appError(for: error)
        }
    }

    /// A "," followed (after white space) by "}" or "]", outside strings.
    static func hasTrailingComma(_ data: Data) -> Bool {
        var inString = false
        var escaped = false
        var afterComma = false
        for byte in data {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): continue
            case UInt8(ascii: "}"), UInt8(ascii: "]"): if afterComma { return true }
            case UInt8(ascii: "\""): inString = true
            default: break
            }
            afterComma = byte == UInt8(ascii: ",")
        }
        return false
    }

    static func appError(for error: DecodingError) -> AppError {
        func name(_ path: [any CodingKey]) -> String {
            path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return .invalidField(name(context.codingPath + [key]), "Ce champ est obligatoire.")
        case .valueNotFound(_, let context):
            return .invalidField(name(context.codingPath), "Ce champ ne peut pas être nul.")
        case .typeMismatch(_, let context):
            return .invalidField(name(context.codingPath), "Ce champ n'a pas le bon type.")
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            return .invalidField(name(context.codingPath), "Cette valeur n'est pas valide.")
        default:
            return AppError(.badRequest, code: "invalid_json", "Le corps de la requête n'est pas un JSON valide.", field: "body")
        }
    }

    /// The query string's fields as browsers write them (`application/x-www-form-urlencoded`: a GET form and
    /// `URLSearchParams` send a space as `+`). Every route reads its query through this.
    var formQuery: [String: String] { Self.parseForm(uri.query ?? "") }

    /// Fields of an `application/x-www-form-urlencoded` body (the web pages' forms).
    func decodeForm(context: some RequestContext) async throws -> [String: String] {
        var request = self
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        return Self.parseForm(String(buffer: body))
    }

    static func parseForm(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            let key = decode(parts[0])
            guard !key.isEmpty else { continue }
            fields[key] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    /// The host (and port) this request was addressed to, as a browser writes it after the scheme in `Origin`.
    var ownAuthority: String? { head.authority?.lowercased() }

    var isAPI: Bool { uri.path.hasPrefix("/api/") || uri.path == "/api" }
}
