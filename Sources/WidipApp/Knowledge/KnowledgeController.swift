import Foundation
import Hummingbird

/// `/api/knowledge/...`: a technician reports a source the assistant cited as out of date; ENRICHISSEUR reads the
/// reports (`knowledge_feedback`, migration 0008) and SUPERVISION counts them. A workflow (ENRICHISSEUR) adds,
/// replaces and removes documents through the API when it does not write the table itself.
struct KnowledgeController {
    /// Anyone who was shown a source may report it; documents are a workflow's.
    static let accessRules = [
        RouteRule(.post, "/api/knowledge/sources/{id}/obsolete", .level(.n0)),
        RouteRule(.put, "/api/knowledge/documents/{key}", .workflow),
        RouteRule(.delete, "/api/knowledge/documents/{key}", .workflow),
    ]

    let repository: KnowledgeRepository
    let audit: AuditRepository
    /// Wakes the embedder: a document added through the API is embedded at once, not at its next look.
    let embedderSignal: WakeSignal

    /// A document as a workflow sends it: the same fields as an imported file's front matter, and its text.
    struct DocumentInput: Decodable {
        let title: String
        let type: String?
        let client: String?
        let url: String?
        let ticketID: String?
        let updatedAt: String?
        let content: String

        enum CodingKeys: String, CodingKey {
            case title, type, client, url, content
            case ticketID = "ticket_id"
            case updatedAt = "updated_at"
        }
    }

    struct DocumentOutput: Encodable, Sendable {
        let key: String
        /// The row's `source_key`: the workflow's name, then its key, so that two workflows (or an import) never
        /// replace each other's documents.
        let sourceKey: String
        let chunks: Int
        let added: Int
        let updated: Int
        let unchanged: Int
        let removed: Int

        enum CodingKeys: String, CodingKey {
            case key, chunks, added, updated, unchanged, removed
            case sourceKey = "source_key"
        }
    }

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

    func addRoutes(workflows: RouterGroup<WorkflowContext>) {
        workflows.put("/api/knowledge/documents/{key}") { request, context in
            let key = try Self.documentKey(context.parameters.get("key"))
            let input = try await request.decodeJSON(DocumentInput.self, context: context)
            let document = try Self.document(input, sourceKey: Self.sourceKey(key, workflow: context.workflow))
            let chunks = document.chunks()
            let workflow = context.workflow
            let changes = try await repository.client.transaction(logger: repository.logger) { connection in
                let changes = try await repository.store(document, chunks: chunks, on: connection)
                if changes.changedAnything {
                    try await audit.record(
                        AuditEntry(
                            userID: nil, action: "knowledge.document_stored", targetType: "knowledge", targetID: document.key,
                            details: [
                                "workflow": .string(workflow), "title": .string(document.title), "chunks": .number(Double(chunks.count)),
                                "added": .number(Double(changes.added)), "updated": .number(Double(changes.updated)),
                                "removed": .number(Double(changes.removed)),
                            ],
                            client: context.client(of: request)
                        ),
                        on: connection
                    )
                }
                return changes
            }
            if changes.added + changes.updated > 0 { embedderSignal.wake() }
            let output = DocumentOutput(
                key: key, sourceKey: document.key, chunks: chunks.count, added: changes.added, updated: changes.updated,
                unchanged: changes.unchanged, removed: changes.removed
            )
            // Created when none of its chunks existed before.
            let created = changes.added == chunks.count && changes.removed == 0
            return JSONBody(output, status: created ? .created : .ok)
        }
        workflows.delete("/api/knowledge/documents/{key}") { request, context in
            let key = try Self.documentKey(context.parameters.get("key"))
            let sourceKey = Self.sourceKey(key, workflow: context.workflow)
            let workflow = context.workflow
            try await repository.client.transaction(logger: repository.logger) { connection in
                let removed = try await repository.remove(key: sourceKey, on: connection)
                guard removed > 0 else { throw Self.documentNotFound }
                try await audit.record(
                    AuditEntry(
                        userID: nil, action: "knowledge.document_removed", targetType: "knowledge", targetID: sourceKey,
                        details: ["workflow": .string(workflow), "chunks": .number(Double(removed))], client: context.client(of: request)
                    ),
                    on: connection
                )
            }
            return Response(status: .noContent)
        }
    }

    static func documentKey(_ raw: String?) throws -> String {
        guard let raw, raw.count <= 200, !raw.isEmpty,
            raw.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) })
        else {
            throw AppError.invalidField("key", "Clé de document invalide : 1 à 200 caractères parmi lettres, chiffres, « . », « _ » et « - ».")
        }
        return raw
    }

    static func sourceKey(_ key: String, workflow: String) -> String { "\(workflow)/\(key)" }

    static func document(_ input: DocumentInput, sourceKey: String) throws -> KnowledgeDocument {
        // PostgreSQL's text cannot hold NUL: refused here by name rather than failing in the database.
        let texts: [(String, String?)] = [
            ("title", input.title), ("type", input.type), ("client", input.client), ("url", input.url), ("ticket_id", input.ticketID),
            ("updated_at", input.updatedAt), ("content", input.content),
        ]
        for case let (field, text?) in texts where text.unicodeScalars.contains("\u{0}") {
            throw AppError.invalidField(field, "Le caractère NUL n'est pas accepté.")
        }
        let title = input.title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !title.isEmpty, title.count <= 300 else { throw AppError.invalidField("title", "Titre requis (300 caractères au plus).") }
        var type = KnowledgeSourceType.procedure
        if let raw = input.type {
            guard let known = KnowledgeSourceType(rawValue: raw) else {
                throw AppError.invalidField("type", "Type inconnu : procedure, ticket (ticket résolu) ou documentation (documentation client).")
            }
            type = known
        }
        let client = input.client?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let client, client.isEmpty || client.count > 200 { throw AppError.invalidField("client", "Nom de client vide ou trop long (200 caractères au plus).") }
        if let url = input.url {
            guard url.count <= 2000, let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
                throw AppError.invalidField("url", "Lien http(s) complet attendu, par exemple https://glpi.widip.fr/front/ticket.form.php?id=412.")
            }
        }
        if let ticket = input.ticketID, ticket.isEmpty || ticket.count > 100 {
            throw AppError.invalidField("ticket_id", "Identifiant de ticket vide ou trop long (100 caractères au plus).")
        }
        var updatedAt: Date?
        if let text = input.updatedAt {
            guard let date = StrictDate.parse(text, dayIn: TimeZone(identifier: "UTC")!) else {
                throw AppError.invalidField("updated_at", "Date ISO 8601 attendue : 2024-03-14 ou 2024-03-14T09:30:00Z.")
            }
            updatedAt = date
        }
        let content = input.content.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !content.isEmpty, content.count <= 200_000 else {
            throw AppError.invalidField("content", "Texte du document requis (200 000 caractères au plus).")
        }
        return KnowledgeDocument(
            key: sourceKey, title: title, type: type, client: client, url: input.url, ticketID: input.ticketID, updatedAt: updatedAt, body: content
        )
    }

    static let documentNotFound = AppError(.notFound, code: "document_not_found", "Aucun document de ce workflow ne porte cette clé.")
    static let notFound = AppError(.notFound, code: "source_not_found", "Cette source n'existe plus dans la base de connaissances.")
}
