import Foundation

/// A conversation as read back (`chat_conversation_rows`).
struct ConversationRecord: Decodable, Sendable, Equatable {
    let id: UUID
    let userID: Int?
    let title: String
    let mode: String
    /// The client the conversation is kept to, if any.
    let clientScope: String?
    let createdAt: Date
    let updatedAt: Date
    let messageCount: Int

    enum CodingKeys: String, CodingKey {
        case id, title, mode
        case clientScope = "client_scope"
        case userID = "user_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case messageCount = "message_count"
    }
}

/// A message as read back (`chat_message_rows`).
struct MessageRecord: Decodable, Sendable, Equatable {
    let id: UUID
    let conversationID: UUID
    let userID: Int?
    let role: String
    let content: String
    let mode: String?
    let status: String
    let provider: String?
    let model: String?
    let promptTokens: Int?
    let completionTokens: Int?
    let tokensUsed: Int
    let tokensEstimated: Bool
    let errorMessage: String?
    let feedback: Int?
    let feedbackComment: String?
    /// The assistant's tool calls (`[ToolStep]`), or for an `action` message the SAFEGUARD outcome; Phase 1 rows
    /// may hold anything here.
    let mcpToolsUsed: JSONValue?
    let sources: AnswerSources?
    let createdAt: Date
    let finishedAt: Date?
    let seq: Int?

    enum CodingKeys: String, CodingKey {
        case id, role, content, mode, status, provider, model, feedback, seq
        case conversationID = "conversation_id"
        case userID = "user_id"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case tokensUsed = "tokens_used"
        case tokensEstimated = "tokens_estimated"
        case errorMessage = "error_message"
        case feedbackComment = "feedback_comment"
        case mcpToolsUsed = "mcp_tools_used"
        case sources
        case createdAt = "created_at"
        case finishedAt = "finished_at"
    }

    var isStreaming: Bool { status == MessageStatus.streaming.rawValue }

    /// The assistant's tool calls, when the column holds them in this platform's shape.
    var toolSteps: [ToolStep] {
        guard role == "assistant", let mcpToolsUsed, let data = try? JSONEncoder().encode(mcpToolsUsed) else { return [] }
        return (try? JSONDecoder().decode([ToolStep].self, from: data)) ?? []
    }
}

/// How an answer stands: written now, or how it ended.
enum MessageStatus: String, Sendable {
    case streaming, complete, stopped
    case timedOut = "timed_out"
    case failed
}

/// A user's token use in the current month.
struct TokenUsage: Sendable, Equatable {
    var used: Int
    var quota: Int
    /// Start of next month in the display time zone.
    var resetsAt: Date
    var byMode: [String: Int]
}
