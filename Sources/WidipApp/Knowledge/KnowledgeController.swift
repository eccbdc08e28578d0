import Foundation
import Hummingbird

/// `/api/knowledge/...`: a technician reports a source the assistant cited as out of date; ENRICHISSEUR reads the
/// reports (`knowledge_feedback`, migration 0008) and SUPERVISION counts them.
struct KnowledgeController {
    /// Anyone who was shown a source may report it.
    static let accessRules = [
        RouteRule(.post, "/api/knowledge/sources/{id}/obsolete", .level(.n0))
    ]

    let repository: KnowledgeRepository
    let audit: AuditRepository

    struct ReportInput: Decodable {
        let messageID: String?
        let comment: String?

        enum CodingKeys: String, CodingKey {
            case comment
            case messageID = "message_id"
        }
    }

    struct ReportOutput: Encodable, Sendable {
        let sourceID: Int
        let title: String
        /// False when this user had already reported it (the report still stands).
        let newReport: Bool

        enum CodingKeys: String, CodingKey {
            case title
            case sourceID = "source_id"
            case newReport = "new_report"
        }
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.post("/api/knowledge/sources/{id}/obsolete") { request, context in
            guard let raw = context.parameters.get("id"), let id = Int(raw), id > 0, id <= Int(Int32.max) else { throw Self.notFound }
            let input = try await request.decodeJSON(ReportInput.self, context: context)
            var messageID: UUID?
            if let text = input.messageID {
                guard let parsed = UUID(uuidString: text) else { throw AppError.invalidField("message_id", "Identifiant de message invalide.") }
                messageID = parsed
            }
            let comment = input.comment?.trimmingCharacters(in: .whitespacesAndNewlines)
            if let comment, comment.count > 2000 { throw AppError.invalidField("comment", "Commentaire trop long (2 000 caractères au plus).") }
            let user = context.user
            let reported = try await repository.client.transaction(logger: repository.logger) { connection in
                guard let reported = try await repository.reportObsolete(id, by: user.id, message: messageID, comment: comment?.isEmpty == true ? nil : comment, on: connection)
                else { throw Self.notFound }
                if reported.isNew {
                    try await audit.record(
                        AuditEntry(
                            userID: user.id, action: "knowledge.source_reported_obsolete", targetType: "knowledge", targetID: String(id),
                            details: ["title": .string(reported.title)], client: context.client(of: request)
                        ),
                        on: connection
                    )
                }
                return reported
            }
            return JSONBody(ReportOutput(sourceID: id, title: reported.title, newReport: reported.isNew), status: reported.isNew ? .created : .ok)
        }
    }

    static let notFound = AppError(.notFound, code: "source_not_found", "Cette source n'existe plus dans la base de connaissances.")
}
