import Foundation
import Hummingbird

/// `/api/users/audit` (PRD 3.4.2): the audit log, newest first, filtered and paged. HTTP only.
struct AuditController {
    static let accessRules = [RouteRule(.get, "/api/users/audit", .level(.n4))]

    let audit: AuditRepository
    /// A date without a time in a filter means that day where the administrator is.
    let timeZone: TimeZone

    struct AuditListOutput: Encodable, Sendable {
        let entries: [AuditRecord]
        /// Pass as `before` to get the next (older) page; absent on the last page.
        let nextBefore: Int?

        enum CodingKeys: String, CodingKey {
            case entries
            case nextBefore = "next_before"
        }
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("/api/users/audit") { request, context in
            let filter = try Self.filter(request.formQuery, timeZone: timeZone)
            let entries = try await audit.list(filter)
            return JSONBody(AuditListOutput(entries: entries, nextBefore: entries.count == filter.limit ? entries.last?.id : nil))
        }
    }

    /// Filters of the audit log from query parameters: `user_id`, `action`, `target_type`, `target_id`, `from`, `to`
    /// (ISO-8601), `before` (keyset cursor) and `limit` (1–200). The API refuses an empty value; the page's filter form
    /// sends its blank fields, which mean "any".
    static func filter(_ query: [String: String], timeZone: TimeZone, blankMeansAny: Bool = false) throws -> AuditFilter {
        func value(_ name: String) throws -> String? {
            guard let raw = query[name]?.trimmingCharacters(in: .whitespaces) else { return nil }
            if raw.isEmpty {
                if blankMeansAny { return nil }
                throw AppError.invalidField(name, "Valeur vide : omettez le paramètre ou donnez une valeur.")
            }
            return raw
        }
        func positiveInt(_ name: String, max: Int = Int(Int32.max)) throws -> Int? {
            guard let raw = try value(name) else { return nil }
            guard let number = Int(raw), (1...max).contains(number) else {
                throw AppError.invalidField(name, "Doit être un entier entre 1 et \(max).")
            }
            return number
        }
        func date(_ name: String) throws -> Date? {
            guard let raw = try value(name) else { return nil }
            guard let date = StrictDate.parse(raw, dayIn: timeZone) else {
                throw AppError.invalidField(name, "Date invalide : utilisez le format AAAA-MM-JJ ou ISO-8601 (2026-12-04T08:30:00Z).")
            }
            return date
        }
        func text(_ name: String, max: Int) throws -> String? {
            guard let raw = try value(name) else { return nil }
            guard raw.count <= max else { throw AppError.invalidField(name, "Trop long (\(max) caractères au plus).") }
            return raw
        }
        return AuditFilter(
            userID: try positiveInt("user_id"), action: try text("action", max: 100), targetType: try text("target_type", max: 50),
            targetID: try text("target_id", max: 100), from: try date("from"), to: try date("to"), before: try positiveInt("before"),
            limit: try positiveInt("limit", max: 200) ?? 50
        )
    }
}
