import Foundation

/// One tool call of an assistant answer, as the page shows it and the message keeps it (`mcp_tools_used`).
struct ToolStep: Codable, Sendable, Equatable {
    enum Status: String, Codable, Sendable {
        case running
        case success
        /// The tool answered that it could not (unknown device, bad argument): the model was told.
        case toolError = "tool_error"
        /// Not run: beyond the user's level, outside the conversation's client, unreadable arguments.
        case refused
        /// The call failed (server unreachable, time-out).
        case failed
        /// An L3+ action handed to SAFEGUARD: a colleague decides, the outcome comes back into the conversation.
        case awaitingApproval = "awaiting_approval"
    }

    var tool: String
    var label: String
    var level: String
    var arguments: JSONValue
    var status: Status
    /// What the page shows of the result or the refusal (cut to a readable length).
    var result: String?
    var durationMS: Int?
    var approvalID: String?

    enum CodingKeys: String, CodingKey {
        case tool, label, level, arguments, status, result
        case durationMS = "duration_ms"
        case approvalID = "approval_id"
    }
}

/// A knowledge-base passage an answer was given, cited under the answer (PRD 3.1.3).
struct AnswerSource: Codable, Sendable, Equatable {
    /// The chunk's row in `widip_knowledge_base`.
    let id: Int
    let title: String
    /// procedure, ticket or documentation.
    let kind: String
    let client: String?
    /// When the source itself last changed.
    let updatedAt: Date?
    let link: String?
    let ticketID: String?

    enum CodingKeys: String, CodingKey {
        case id, title, kind, client, link
        case updatedAt = "updated_at"
        case ticketID = "ticket_id"
    }

    var kindLabel: String {
        switch kind {
        case "procedure": "Procédure"
        case "ticket": "Ticket résolu"
        case "documentation": "Documentation client"
        default: "Document"
        }
    }
}

/// The sources of an answer, and whether meaning-based search took part (without the embedding service, full text
/// alone found them, and the page says so).
struct AnswerSources: Codable, Sendable, Equatable {
    var items: [AnswerSource]
    var usedVectors: Bool

    enum CodingKeys: String, CodingKey {
        case items
        case usedVectors = "used_vectors"
    }
}
