import Foundation
import Hummingbird

/// A message as the page shows it: saved answers as safe HTML, an answer being written as its text so far (the
/// script attaches to it and goes on).
struct ChatMessageView: Sendable {
    let id: String
    let isUser: Bool
    let isStreaming: Bool
    /// Already escaped by `SafeMarkdown`; inserted raw by the template.
    let html: String
    let text: String
    let length: Int
    let modeLabel: String
    let time: String
    let timeISO: String
    let note: String?
    let noteClass: String
    let usage: String?
    let feedbackUp: Bool
    let feedbackDown: Bool
}

struct ChatConversationLink: Sendable {
    let id: String
    let title: String
    let when: String
    let current: Bool
}

struct ChatModeOption: Sendable {
    let value: String
    /// The provider answering this mode, for the script that warns when it does not answer.
    let provider: String?
    let label: String
    let summary: String
    let timeout: String
    let selected: Bool
}

struct ChatPage: PageModel {
    static let template = "chat/page"
    let chrome: Chrome
    let conversations: [ChatConversationLink]
    let conversationID: String?
    let conversationTitle: String
    let messages: [ChatMessageView]
    let modes: [ChatModeOption]
    let usageText: String
    let usageRatio: Int
    let usageClass: String
    let resetText: String
    let offlineModel: String?
    let notConfigured: Bool
    let search: String
    let searchEmpty: Bool
    let highlightScript: String?
}

struct ChatMessageFragment: PageModel {
    static let template = "chat/fragment"
    let message: ChatMessageView
}

/// WIBOT's page (PRD 2.2 Chat): the conversations, one of them open, and the composer.
struct ChatPages {
    static let accessRules = [
        RouteRule(.get, "/wibot", .level(.n0)),
        RouteRule(.get, "/wibot/messages/{id}", .level(.n0)),
    ]

    let chat: ChatService
    let pages: Pages
    /// Where the page loads highlight.js from, when the app serves it.
    let highlightScript: String?
    var format: FrenchFormat { pages.format }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("/wibot") { request, context in try await page(request, context) }
        // One saved message rendered as on the page, for the script once an answer has ended.
        group.get("/wibot/messages/{id}") { _, context in
            let message = try await chat.ownMessage(try ChatController.id(context.parameters.get("id"), notFound: ChatService.messageNotFound), of: context.user)
            return PageRenderer.html(try pages.renderer.render(ChatMessageFragment(message: view(message))))
        }
    }

    func page(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let query = request.formQuery
        let search = (query["q"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let list = try await chat.conversations(of: context.user, search: search.isEmpty ? nil : String(search.prefix(200)))
        var current: (ConversationRecord, [MessageRecord])?
        if let raw = query["c"] {
            guard let id = UUID(uuidString: raw) else { throw ChatService.notFound }
            current = try await chat.messages(in: id, of: context.user)
        }
        let usage = try await chat.usage(of: context.user)
        let selectedMode = current.flatMap { ChatMode(rawValue: $0.0.mode) } ?? ChatMode(rawValue: query["mode"] ?? "") ?? .flash
        let settings = chat.settings
        var chrome = await pages.chrome("WIBOT", context, current: "/wibot")
        chrome.scripts = ["chat.js"]
        let ratio = usage.quota == 0 ? 100 : min(100, usage.used * 100 / usage.quota)
        return try pages.response(
            ChatPage(
                chrome: chrome,
                conversations: list.map {
                    ChatConversationLink(id: $0.id.uuidString.lowercased(), title: $0.title, when: format.relative($0.updatedAt), current: $0.id == current?.0.id)
                },
                conversationID: current?.0.id.uuidString.lowercased(), conversationTitle: current?.0.title ?? "Nouvelle conversation",
                messages: current?.1.map(view) ?? [],
                modes: ChatMode.allCases.map {
                    ChatModeOption(
                        value: $0.rawValue, provider: settings.routes[$0]?.provider, label: $0.label, summary: $0.summary, timeout: settings.timeout($0).frenchSeconds, selected: $0 == selectedMode
                    )
                },
                usageText: "\(format.integer(usage.used)) / \(format.integer(usage.quota)) jetons ce mois-ci", usageRatio: ratio,
                usageClass: ratio >= 100 ? "status-critical" : (ratio >= 80 ? "status-warning" : "status-ok"),
                resetText: "Renouvelé le \(format.day(usage.resetsAt))", offlineModel: settings.offlineModel, notConfigured: !chat.llm.isConfigured,
                search: search, searchEmpty: !search.isEmpty && list.isEmpty, highlightScript: highlightScript
            )
        )
    }

    func view(_ message: MessageRecord) -> ChatMessageView {
        let status = MessageStatus(rawValue: message.status) ?? .complete
        let note: String? =
            switch status {
            case .stopped: "Réponse arrêtée : le début est conservé."
            case .timedOut, .failed: message.errorMessage ?? "Réponse incomplète."
            case .streaming, .complete: nil
            }
        let usage =
            message.role == "assistant" && status != .streaming && message.tokensUsed > 0
            ? "\(format.integer(message.tokensUsed)) jetons\(message.tokensEstimated ? " (estimés)" : "")\(message.model.map { " · \($0)" } ?? "")" : nil
        return ChatMessageView(
            id: message.id.uuidString.lowercased(), isUser: message.role == "user", isStreaming: status == .streaming,
            html: message.role == "user" ? "<p>" + SafeMarkdown.escape(message.content).replacingOccurrences(of: "\n", with: "<br>") + "</p>" : SafeMarkdown.html(message.content),
            text: message.content, length: message.content.unicodeScalars.count,
            modeLabel: message.mode.flatMap(ChatMode.init(rawValue:))?.label ?? "", time: format.dateTime(message.createdAt),
            timeISO: FrenchFormat.iso(message.createdAt), note: note, noteClass: status == .stopped ? "alert-info" : "alert-warning", usage: usage,
            feedbackUp: message.feedback == 1, feedbackDown: message.feedback == -1
        )
    }
}
