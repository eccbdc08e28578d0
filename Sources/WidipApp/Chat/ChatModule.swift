import Foundation
import ServiceLifecycle

/// WIBOT (PRD 3.1): conversations with the four modes, answers streamed and owned by the server, token quotas.
struct ChatModule: AppModule {
    let chat: ChatService
    /// The cross-instance listener and the shutdown that saves answers under way.
    let services: [any Service]

    var accessRules: [RouteRule] { ChatController.accessRules + ChatPages.accessRules }
    var navigation: [NavigationEntry] {
        [
            NavigationEntry(
                label: "WIBOT", path: "/wibot",
                tile: ModuleTile(name: "WIBOT", icon: "wibot", description: "Assistant IA : Flash, Code, Rédaction, Assistant WIDIP")
            )
        ]
    }

    var maintenance: [MaintenanceTask] {
        [MaintenanceTask(name: "chat: answers of a stopped instance") { [chat] in _ = try await chat.repository.failOrphans() }]
    }

    func addRoutes(to routes: ModuleRoutes) {
        ChatController(chat: chat).addRoutes(to: routes.signedIn)
        ChatPages(
            chat: chat, pages: routes.pages,
            highlightScript: chat.settings.highlightScriptDirectory.map { _ in ChatSettings.highlightURLBase + "/highlight.min.js" }
        ).addRoutes(to: routes.signedIn)
    }
}

/// At shutdown, ends the conversations' update streams (their pages reconnect to another instance) and the answers
/// this instance is writing, and waits until each answer has saved what it wrote (as failed, with a French reason),
/// before the database client closes.
struct ChatShutdown: Service {
    let generations: ChatGenerations
    let watchers: ChatWatchers

    func run() async throws {
        try? await gracefulShutdown()
        watchers.closeAll()
        await generations.stopAll()
    }
}
