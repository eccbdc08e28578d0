import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/api/chat/...` (PRD 2.1): conversations, messages streamed as Server-Sent Events, stop, feedback, usage. HTTP
/// only; the rules live in `ChatService`.
struct ChatController {
    /// Every signed-in user may chat (PRD 3.4.1: WIBOT is open from N0); each sees only their own conversations.
    static let accessRules = [
        RouteRule(.get, "/api/chat/conversations", .level(.n0)),
        RouteRule(.post, "/api/chat/conversations", .level(.n0)),
        RouteRule(.get, "/api/chat/conversations/{id}", .level(.n0)),
        RouteRule(.patch, "/api/chat/conversations/{id}", .level(.n0)),
        RouteRule(.delete, "/api/chat/conversations/{id}", .level(.n0)),
        RouteRule(.get, "/api/chat/conversations/{id}/export", .level(.n0)),
        RouteRule(.post, "/api/chat/conversations/{id}/regenerate", .level(.n0)),
        RouteRule(.post, "/api/chat/conversations/{id}/edit", .level(.n0)),
        RouteRule(.get, "/api/chat/conversations/{id}/updates", .level(.n0)),
        RouteRule(.post, "/api/chat/message", .level(.n0)),
        RouteRule(.get, "/api/chat/messages/{id}/stream", .level(.n0)),
        RouteRule(.post, "/api/chat/messages/{id}/stop", .level(.n0)),
        RouteRule(.put, "/api/chat/messages/{id}/feedback", .level(.n0)),
        RouteRule(.get, "/api/chat/tokens", .level(.n0)),
    ]

    let chat: ChatService

    // MARK: Wire types

    static let maximumOffset = 100_000_000

    struct SendInput: Decodable {
        let conversationID: String?
        let mode: String?
        let content: String

        enum CodingKeys: String, CodingKey {
            case conversationID = "conversation_id"
            case mode, content
        }
    }

    struct AgainInput: Decodable {
        let mode: String?
        let content: String?
    }

    struct ConversationInput: Decodable {
        let title: String?
        let mode: String?
    }

    /// PATCH: a new title, the client the conversation is kept to, or both.
    struct ConversationChangeInput: Decodable {
        let title: String?
        /// Absent: unchanged; null or empty: no client; a name: the conversation is kept to that client.
        let clientScope: String??

        enum CodingKeys: String, CodingKey {
            case title
            case clientScope = "client_scope"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            // A title sent as null is a mistake, not "unchanged": refused like any title that is not text.
            if container.contains(.title), try container.decodeNil(forKey: .title) {
                throw AppError.invalidField("title", "Le titre doit être un texte.")
            }
            title = try container.decodeIfPresent(String.self, forKey: .title)
            if !container.contains(.clientScope) {
                clientScope = nil
            } else if try container.decodeNil(forKey: .clientScope) {
                clientScope = .some(nil)
            } else {
                clientScope = .some(try container.decode(String.self, forKey: .clientScope))
            }
        }
    }

    struct FeedbackInput: Decodable {
        let rating: String?
        let comment: String?
    }

    struct ConversationOutput: Encodable, Sendable {
        let id: String
        let title: String
        let mode: String
        let clientScope: String?
        let messageCount: Int
        let createdAt: Date
        let updatedAt: Date

        enum CodingKeys: String, CodingKey {
            case id, title, mode
            case clientScope = "client_scope"
            case messageCount = "message_count"
            case createdAt = "created_at"
            case updatedAt = "updated_at"
        }

        init(_ record: ConversationRecord) {
            id = record.id.wire
            title = record.title
            mode = record.mode
            clientScope = record.clientScope
            messageCount = record.messageCount
            createdAt = record.createdAt
            updatedAt = record.updatedAt
        }
    }

    struct MessageOutput: Encodable, Sendable {
        let id: String
        let conversationID: String
        let role: String
        let content: String
        let mode: String?
        let status: String
        let model: String?
        let usage: ChatUsageOutput?
        let error: String?
        let feedback: String?
        let feedbackComment: String?
        /// The assistant's tool calls, or for an `action` message the SAFEGUARD outcome.
        let toolCalls: JSONValue?
        let sources: AnswerSources?
        let createdAt: Date

        enum CodingKeys: String, CodingKey {
            case id, role, content, mode, status, model, usage, error, feedback, sources
            case toolCalls = "tool_calls"
            case conversationID = "conversation_id"
            case feedbackComment = "feedback_comment"
            case createdAt = "created_at"
        }

        init(_ record: MessageRecord) {
            id = record.id.wire
            conversationID = record.conversationID.wire
            role = record.role
            content = record.content
            mode = record.mode
            status = record.status
            model = record.model
            usage =
                record.role == "assistant" && !record.isStreaming
                ? ChatUsageOutput(prompt: record.promptTokens ?? 0, completion: record.completionTokens ?? 0, total: record.tokensUsed, estimated: record.tokensEstimated) : nil
            error = record.errorMessage
            feedback = record.feedback.map { $0 > 0 ? "up" : "down" }
            feedbackComment = record.feedbackComment
            toolCalls = record.mcpToolsUsed
            sources = record.sources
            createdAt = record.createdAt
        }
    }

    struct ConversationDetailOutput: Encodable, Sendable {
        let conversation: ConversationOutput
        let messages: [MessageOutput]
    }

    struct ListOutput: Encodable, Sendable {
        let conversations: [ConversationOutput]
        let total: Int
    }

    struct TokensOutput: Encodable, Sendable {
        let used: Int
        let quota: Int
        let remaining: Int
        let resetsAt: Date
        let byMode: [String: Int]

        enum CodingKeys: String, CodingKey {
            case used, quota, remaining
            case resetsAt = "resets_at"
            case byMode = "by_mode"
        }

        init(_ usage: TokenUsage) {
            used = usage.used
            quota = usage.quota
            remaining = max(0, usage.quota - usage.used)
            resetsAt = usage.resetsAt
            byMode = Dictionary(uniqueKeysWithValues: ChatMode.allCases.map { ($0.rawValue, usage.byMode[$0.rawValue] ?? 0) })
        }
    }

    // MARK: Routes

    func addRoutes(to users: RouterGroup<AuthenticatedContext>) {
        users.get("/api/chat/conversations") { request, context in
            let search = request.formQuery["q"]?.trimmingCharacters(in: .whitespacesAndNewlines)
            if let search, search.count > 200 { throw AppError.invalidField("q", "Recherche trop longue : 200 caractères au plus.") }
            let found = try await chat.conversations(of: context.user, search: search?.isEmpty == false ? search : nil)
            return JSONBody(ListOutput(conversations: found.map(ConversationOutput.init), total: found.count))
        }
        users.post("/api/chat/conversations") { request, context in
            let input = try await request.decodeJSON(ConversationInput.self, context: context)
            let created = try await chat.createConversation(for: context.user, title: input.title, mode: try Self.mode(input.mode) ?? .flash)
            var response = try JSONBody(ConversationOutput(created), status: .created).response(from: request, context: context)
            response.headers[.location] = "/api/chat/conversations/\(created.id.uuidString.lowercased())"
            return response
        }
        users.get("/api/chat/conversations/{id}") { _, context in
            let (conversation, messages) = try await chat.messages(in: try Self.id(context.parameters.get("id"), notFound: ChatService.notFound), of: context.user)
            return JSONBody(ConversationDetailOutput(conversation: ConversationOutput(conversation), messages: messages.map(MessageOutput.init)))
        }
        users.patch("/api/chat/conversations/{id}") { request, context in
            let id = try Self.id(context.parameters.get("id"), notFound: ChatService.notFound)
            let input = try await request.decodeJSON(ConversationChangeInput.self, context: context)
            guard input.title != nil || input.clientScope != nil else {
                throw AppError.invalidField("title", "Indiquez le nouveau titre ou le client (client_scope).")
            }
            var changed = try await chat.ownConversation(id, of: context.user)
            if let title = input.title { changed = try await chat.rename(id, to: title, by: context.user) }
            if let scope = input.clientScope { changed = try await chat.keep(id, toClient: scope, by: context.user) }
            return JSONBody(ConversationOutput(changed))
        }
        users.delete("/api/chat/conversations/{id}") { request, context in
            try await chat.delete(try Self.id(context.parameters.get("id"), notFound: ChatService.notFound), by: context.user, client: context.client(of: request))
            return Response(status: .noContent)
        }
        users.get("/api/chat/conversations/{id}/export") { _, context in
            let (conversation, messages) = try await chat.messages(in: try Self.id(context.parameters.get("id"), notFound: ChatService.notFound), of: context.user)
            let name = ChatMarkdown.fileName(for: conversation)
            return Response(
                status: .ok,
                headers: [.contentType: "text/markdown; charset=utf-8", .contentDisposition: "attachment; filename=\"\(name)\""],
                body: .init(byteBuffer: ByteBuffer(string: ChatMarkdown.render(conversation, messages: messages)))
            )
        }
        users.post("/api/chat/message") { request, context in
            let input = try await request.decodeJSON(SendInput.self, context: context)
            let conversation = try input.conversationID.map { try Self.id($0, notFound: ChatService.notFound) }
            let started = try await chat.send(
                input.content, mode: try Self.mode(input.mode) ?? .flash, to: conversation, by: context.user, client: context.client(of: request)
            )
            return stream(started, for: context.user)
        }
        users.post("/api/chat/conversations/{id}/regenerate") { request, context in
            let id = try Self.id(context.parameters.get("id"), notFound: ChatService.notFound)
            let input = try await Self.optionalBody(AgainInput.self, request, context)
            return stream(try await chat.regenerate(id, mode: try Self.mode(input?.mode), by: context.user, client: context.client(of: request)), for: context.user)
        }
        users.post("/api/chat/conversations/{id}/edit") { request, context in
            let id = try Self.id(context.parameters.get("id"), notFound: ChatService.notFound)
            let input = try await request.decodeJSON(AgainInput.self, context: context)
            guard let content = input.content else { throw AppError.invalidField("content", "Le texte corrigé de la question est requis.") }
            return stream(try await chat.editLastQuestion(id, content: content, mode: try Self.mode(input.mode), by: context.user, client: context.client(of: request)), for: context.user)
        }
        // What the platform adds to the conversation (SAFEGUARD outcomes) as it happens: the page then loads each
        // message. `after` (or Last-Event-ID) is the `seq` the page has; without it, from now.
        users.get("/api/chat/conversations/{id}/updates") { request, context in
            let id = try Self.id(context.parameters.get("id"), notFound: ChatService.notFound)
            _ = try await chat.ownConversation(id, of: context.user)
            let raw = request.formQuery["after"] ?? request.headers[HTTPField.Name("Last-Event-ID")!]
            var after: Int?
            if let raw {
                guard let value = Int(raw), (0...Int(Int64.max / 2)).contains(value) else {
                    throw AppError.invalidField("after", "Position invalide : un entier positif est attendu.")
                }
                after = value
            }
            return ChatEventStream.updates(try await chat.updates(of: id, after: after))
        }
        users.get("/api/chat/messages/{id}/stream") { request, context in
            let message = try await chat.ownMessage(try Self.id(context.parameters.get("id"), notFound: ChatService.messageNotFound), of: context.user)
            // Where the page stands: `from` or the SSE reconnection header, in characters.
            let from = request.formQuery["from"] ?? request.headers[HTTPField.Name("Last-Event-ID")!]
            // Bounded far beyond any answer, so that the position always fits the database's integer.
            guard let offset = Int(from ?? "0"), (0...Self.maximumOffset).contains(offset) else {
                throw AppError.invalidField("from", "Position attendue : un entier entre 0 et \(Self.maximumOffset).")
            }
            let events = try await chat.attach(to: message, from: offset)
            return ChatEventStream.response(start: nil, events: events, messageID: message.id, conversationID: message.conversationID) {
                try? await chat.usage(of: context.user)
            }
        }
        users.post("/api/chat/messages/{id}/stop") { _, context in
            let message = try await chat.stop(try Self.id(context.parameters.get("id"), notFound: ChatService.messageNotFound), by: context.user)
            return JSONBody(MessageOutput(message))
        }
        users.put("/api/chat/messages/{id}/feedback") { request, context in
            let id = try Self.id(context.parameters.get("id"), notFound: ChatService.messageNotFound)
            let input = try await request.decodeJSON(FeedbackInput.self, context: context)
            let rating: Int? =
                switch input.rating {
                case "up": 1
                case "down": -1
                case nil: nil
                default: throw AppError.invalidField("rating", "Note attendue : « up », « down » ou null pour l'effacer.")
                }
            return JSONBody(MessageOutput(try await chat.setFeedback(id, rating: rating, comment: input.comment, by: context.user)))
        }
        users.get("/api/chat/tokens") { _, context in
            JSONBody(TokensOutput(try await chat.usage(of: context.user)))
        }
    }

    private func stream(_ started: ChatService.Started, for user: User) -> Response {
        let start = ChatEventStream.Start(
            conversationID: started.conversationID.wire, userMessageID: started.userMessageID?.wire, messageID: started.messageID.wire, mode: started.mode.rawValue,
            provider: started.provider, model: started.model
        )
        return ChatEventStream.response(start: start, events: started.events, messageID: started.messageID, conversationID: started.conversationID) {
            [chat] in try? await chat.usage(of: user)
        }
    }

    static func id(_ text: String?, notFound: AppError) throws -> UUID {
        guard let text, let id = UUID(uuidString: text) else { throw notFound }
        return id
    }

    static func mode(_ text: String?) throws -> ChatMode? {
        guard let text else { return nil }
        guard let mode = ChatMode(rawValue: text) else {
            throw AppError.invalidField("mode", "Mode inconnu « \(text.prefix(40)) » : flash, code, redaction ou assistant.")
        }
        return mode
    }

    /// A body that may be absent (regenerate with the conversation's own mode).
    static func optionalBody<Value: Decodable>(_ type: Value.Type, _ request: Request, _ context: AuthenticatedContext) async throws -> Value? {
        guard request.headers[.contentType] != nil else { return nil }
        return try await request.decodeJSON(type, context: context)
    }
}
