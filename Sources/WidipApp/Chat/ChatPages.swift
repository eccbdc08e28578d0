import Foundation
import Hummingbird

/// A message as the page shows it: saved answers as safe HTML, an answer being written as its text so far (the
/// script attaches to it and goes on).
struct ChatMessageView: Sendable {
    let id: String
    let isUser: Bool
    /// The outcome of an action the assistant handed to SAFEGUARD, written by the platform.
    let action: ChatActionView?
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
    let steps: [ToolStepView]
    let sources: [SourceView]
    /// Stored, not computed: templates see stored properties only.
    let hasSteps: Bool
    let hasSources: Bool
    /// Said under the sources when only full text found them.
    let sourcesNote: String?
    /// Order in the conversation, where the page's live updates start.
    let seq: Int
}

/// A tool call of the assistant, as a collapsible step.
struct ToolStepView: Sendable {
    let label: String
    let tool: String
    let level: String
    let status: String
    let statusLabel: String
    let tone: String
    let arguments: String
    let result: String?
    let duration: String?
    let approvalID: String?
    /// Still waiting for a decision: the page listens for the outcome.
    let awaiting: Bool
}

struct SourceView: Sendable {
    let id: Int
    let number: Int
    let title: String
    let details: String
    let link: String?
}

struct ChatActionView: Sendable {
    let approvalID: String?
    let statusLabel: String
    let tone: String
    let result: String?
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
                messages: current.map { _, messages in
                    let outcomes = Self.outcomes(messages)
                    return messages.map { view($0, outcomes: outcomes) }
                } ?? [],
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

    /// `outcomes`: the conversation's decided actions by approval id, so that a step awaiting approval shows how it
    /// ended.
    func view(_ message: MessageRecord, outcomes: [String: String] = [:]) -> ChatMessageView {
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
        let sourceViews = (message.sources?.items ?? []).enumerated().map { number, source in
            var details = [source.kindLabel]
            if let client = source.client { details.append(client) }
            if let updated = source.updatedAt { details.append("mis à jour le \(format.day(updated))") }
            if let ticket = source.ticketID { details.append("ticket \(ticket)") }
            return SourceView(id: source.id, number: number + 1, title: source.title, details: details.joined(separator: " · "), link: Self.safeLink(source.link))
        }
        return ChatMessageView(
            id: message.id.uuidString.lowercased(), isUser: message.role == "user", action: message.role == "action" ? actionView(message) : nil,
            isStreaming: status == .streaming,
            html: message.role == "user" ? "<p>" + SafeMarkdown.escape(message.content).replacingOccurrences(of: "\n", with: "<br>") + "</p>" : SafeMarkdown.html(message.content),
            text: message.content, length: message.content.unicodeScalars.count,
            modeLabel: message.mode.flatMap(ChatMode.init(rawValue:))?.label ?? "", time: format.dateTime(message.createdAt),
            timeISO: FrenchFormat.iso(message.createdAt), note: note, noteClass: status == .stopped ? "alert-info" : "alert-warning", usage: usage,
            feedbackUp: message.feedback == 1, feedbackDown: message.feedback == -1,
            steps: message.toolSteps.map { stepView($0, outcome: $0.approvalID.flatMap { outcomes[$0] }) },
            sources: sourceViews, hasSteps: !message.toolSteps.isEmpty, hasSources: !sourceViews.isEmpty,
            sourcesNote: message.sources.map { !$0.usedVectors && !$0.items.isEmpty } == true
                ? "Recherche plein texte seulement : le service d'embeddings ne répondait pas." : nil,
            seq: message.seq ?? 0
        )
    }

    static let stepStatus: [ToolStep.Status: (label: String, tone: String)] = [
        .running: ("en cours", "neutral"), .success: ("réussi", "ok"), .toolError: ("erreur de l'outil", "warning"), .refused: ("refusé", "warning"),
        .failed: ("échec", "critical"), .awaitingApproval: ("en attente d'approbation", "warning"),
    ]

    static let actionStatus: [String: (label: String, tone: String)] = [
        "executed": ("Approuvée et exécutée", "ok"), "failed": ("Approuvée, exécution en échec", "critical"),
        "rejected": ("Rejetée", "critical"), "expired": ("Expirée sans décision", "neutral"),
    ]

    func stepView(_ step: ToolStep, outcome: String?) -> ToolStepView {
        var (label, tone) = Self.stepStatus[step.status] ?? ("", "neutral")
        if let outcome, let decided = Self.actionStatus[outcome] { (label, tone) = (decided.label.lowercased(), decided.tone) }
        return ToolStepView(
            label: step.label, tool: step.tool, level: step.level, status: step.status.rawValue, statusLabel: label, tone: tone,
            arguments: step.arguments.prettyText, result: step.result, duration: step.durationMS.map { "\(format.integer($0)) ms" }, approvalID: step.approvalID,
            awaiting: step.status == .awaitingApproval && outcome == nil
        )
    }

    func actionView(_ message: MessageRecord) -> ChatActionView {
        let outcome = message.mcpToolsUsed.flatMap { value -> [String: JSONValue]? in
            if case .array(let items) = value, case .object(let fields)? = items.first { return fields }
            return nil
        }
        let status = outcome?["status"]?.stringValue ?? ""
        let result: String? =
            switch outcome?["result"] {
            case nil, .null?: nil
            case let value?: value.prettyText
            }
        return ChatActionView(
            approvalID: outcome?["approval_id"]?.stringValue, statusLabel: Self.actionStatus[status]?.label ?? status,
            tone: Self.actionStatus[status]?.tone ?? "neutral", result: result
        )
    }

    /// Only web links reach an `href` (a source's link comes from an imported file or Phase 1).
    static func safeLink(_ link: String?) -> String? {
        guard let link, let url = URL(string: link), ["http", "https"].contains(url.scheme?.lowercased() ?? "") else { return nil }
        return link
    }

    /// Decided actions of a conversation, by approval id.
    static func outcomes(_ messages: [MessageRecord]) -> [String: String] {
        var outcomes: [String: String] = [:]
        for message in messages where message.role == "action" {
            if case .array(let items)? = message.mcpToolsUsed, case .object(let fields)? = items.first,
                let id = fields["approval_id"]?.stringValue, let status = fields["status"]?.stringValue
            {
                outcomes[id] = status
            }
        }
        return outcomes
    }
}
