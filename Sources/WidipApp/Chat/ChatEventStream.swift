import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// What an answer cost, in the API and the stream's `done` event.
struct ChatUsageOutput: Encodable, Sendable {
    let promptTokens: Int
    let completionTokens: Int
    let totalTokens: Int
    let estimated: Bool

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
        case estimated
    }

    /// `total` for a row that has only it (Phase 1's `tokens_used`).
    init(prompt: Int, completion: Int, total: Int? = nil, estimated: Bool) {
        promptTokens = prompt
        completionTokens = completion
        totalTokens = total ?? prompt + completion
        self.estimated = estimated
    }
}

extension UUID {
    /// As ids are written everywhere else (pages, `Location`): lowercase. `JSONEncoder` writes UUIDs in uppercase,
    /// and a client matching ids as text (schemathesis did) took the two spellings for two resources.
    var wire: String { uuidString.lowercased() }
}

/// An answer as Server-Sent Events: `start` (ids, model), `queued` (position in line), `delta` (text, with the
/// answer's length as the event id to resume from), in Assistant WIDIP mode `sources` (the knowledge-base passages
/// used) and `step` (each tool call, sent again as it changes), `error` (a French message), then `done` (status,
/// usage, quota). Comments (`: …`) keep proxies from closing a quiet stream.
enum ChatEventStream {
    struct Start: Encodable, Sendable {
        let conversationID: String
        let userMessageID: String?
        let messageID: String
        let mode: String
        let provider: String
        let model: String

        enum CodingKeys: String, CodingKey {
            case conversationID = "conversation_id"
            case userMessageID = "user_message_id"
            case messageID = "message_id"
            case mode, provider, model
        }
    }

    struct Done: Encodable, Sendable {
        struct Tokens: Encodable, Sendable {
            let used: Int
            let quota: Int
            let resetsAt: Date

            enum CodingKeys: String, CodingKey {
                case used, quota
                case resetsAt = "resets_at"
            }
        }

        let messageID: String
        let conversationID: String
        let status: String
        let error: String?
        let usage: ChatUsageOutput
        let tokens: Tokens?

        enum CodingKeys: String, CodingKey {
            case messageID = "message_id"
            case conversationID = "conversation_id"
            case status, error, usage, tokens
        }
    }

    /// A tool call of the assistant: `index` is its place in the answer (a later event with the same index replaces it).
    struct StepEvent: Encodable, Sendable {
        let index: Int
        let step: ToolStep
    }

    static let headers: HTTPFields = [
        .contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache, no-transform",
        // nginx would otherwise buffer the answer and deliver it whole.
        HTTPField.Name("X-Accel-Buffering")!: "no",
    ]

    static func response(
        start: Start?, events: AnswerSubscription, messageID: UUID, conversationID: UUID, usage: @escaping @Sendable () async -> TokenUsage?
    ) -> Response {
        Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                // The page may go away at any write: the answer goes on without it, and its subscription ends here.
                defer { events.cancel() }
                if let start { try await writer.write(event("start", json(start))) }
                for await item in events.events {
                    switch item {
                    case .delta(let text, let end):
                        try await writer.write(ByteBuffer(string: "id: \(end)\nevent: delta\ndata: {\"text\":\(jsonString(text))}\n\n"))
                    case .queued(let position):
                        let message = position == 1 ? "1 demande avant la vôtre" : "\(position) demandes avant la vôtre"
                        try await writer.write(event("queued", "{\"position\":\(position),\"message\":\(jsonString(message))}"))
                    case .heartbeat:
                        try await writer.write(ByteBuffer(string: ": en cours\n\n"))
                    case .step(let index, let step):
                        try await writer.write(event("step", json(StepEvent(index: index, step: step))))
                    case .sources(let sources):
                        try await writer.write(event("sources", json(sources)))
                    case .finished(let end):
                        if let error = end.error {
                            let code =
                                switch end.status {
                                case .timedOut: "chat_timeout"
                                default: "chat_failed"
                                }
                            try await writer.write(event("error", "{\"code\":\"\(code)\",\"message\":\(jsonString(error))}"))
                        }
                        let tokens = await usage().map { Done.Tokens(used: $0.used, quota: $0.quota, resetsAt: $0.resetsAt) }
                        let done = Done(
                            messageID: messageID.wire, conversationID: conversationID.wire, status: end.status.rawValue, error: end.error,
                            usage: ChatUsageOutput(prompt: end.promptTokens, completion: end.completionTokens, estimated: end.estimated),
                            tokens: tokens
                        )
                        try await writer.write(event("done", json(done)))
                    }
                }
                try await writer.finish(nil)
            }
        )
    }

    /// A conversation's platform messages as Server-Sent Events: `message` (its id and `seq`, the event id to resume
    /// from) each time one is added.
    static func updates(_ updates: AsyncStream<ChatService.ConversationUpdate>) -> Response {
        Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: ": ouvert\n\n"))
                // A server stopping ends the stream rather than waiting for it: the page reconnects (to another
                // instance) from the last id it has.
                for await update in updates.cancelOnGracefulShutdown() {
                    switch update {
                    case .message(let id, let seq):
                        try await writer.write(ByteBuffer(string: "id: \(seq)\nevent: message\ndata: {\"message_id\":\"\(id.wire)\",\"seq\":\(seq)}\n\n"))
                    case .heartbeat:
                        try await writer.write(ByteBuffer(string: ": en attente\n\n"))
                    }
                }
                try await writer.finish(nil)
            }
        )
    }

    private static func event(_ name: String, _ data: String) -> ByteBuffer {
        ByteBuffer(string: "event: \(name)\ndata: \(data)\n\n")
    }

    private static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// A JSON string literal, written by hand: this runs once per streamed token. Line breaks are escaped, so the
    /// data always stays on one SSE line.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }
}

/// A conversation as a Markdown document, for the export.
enum ChatMarkdown {
    static func render(_ conversation: ConversationRecord, messages: [MessageRecord]) -> String {
        let format = Date.FormatStyle(date: .long, time: .shortened, locale: Locale(identifier: "fr_FR"), timeZone: TimeZone(identifier: "Europe/Paris")!)
        var out = "# \(conversation.title)\n\n"
        out += "_Conversation WIBOT exportée le \(Date().formatted(format)) — \(conversation.messageCount) messages._\n\n"
        for message in messages {
            let who = message.role == "user" ? "Vous" : message.role == "action" ? "SAFEGUARD" : "WIBOT"
            let mode = message.mode.flatMap(ChatMode.init(rawValue:)).map { " · \($0.label)" } ?? ""
            out += "## \(who)\(mode) — \(message.createdAt.formatted(format))\n\n"
            out += message.content.isEmpty ? "_(aucun texte)_" : message.content
            out += "\n\n"
            switch message.status {
            case "stopped": out += "> Réponse arrêtée avant sa fin.\n\n"
            case "timed_out", "failed": out += "> \(message.errorMessage ?? "Réponse incomplète.")\n\n"
            default: break
            }
        }
        return out
    }

    static func fileName(for conversation: ConversationRecord) -> String {
        let allowed = conversation.title.folding(options: [.diacriticInsensitive], locale: Locale(identifier: "fr_FR")).lowercased()
            .map { $0.isASCII && ($0.isLetter || $0.isNumber) ? String($0) : "-" }.joined()
            .split(separator: "-").prefix(8).joined(separator: "-")
        return "wibot-\(allowed.isEmpty ? "conversation" : String(allowed.prefix(60))).md"
    }
}
