import ArgumentParser
import DemoMCP
import Foundation
import Hummingbird
import Logging

/// `widip-demo-mcp`: WIDIP's ten MCP tools over streamable HTTP with demo data.
@main
struct DemoMCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "widip-demo-mcp",
        abstract: "Serveur MCP de démonstration : les dix outils WIDIP sur des données fictives, en HTTP streamable sur /mcp."
    )

    @Option(help: "Adresse d'écoute (DEMO_MCP_HOST).")
    var host: String = ProcessInfo.processInfo.environment["DEMO_MCP_HOST"] ?? "127.0.0.1"

    @Option(help: "Port d'écoute (DEMO_MCP_PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["DEMO_MCP_PORT"] ?? "") ?? 3001

    @Option(name: .customLong("allowed-host"), help: "En-tête Host accepté en plus de localhost, par exemple mcp.widip.local:3001 (répétable ; DEMO_MCP_ALLOWED_HOSTS, séparés par des virgules).")
    var allowedHosts: [String] = (ProcessInfo.processInfo.environment["DEMO_MCP_ALLOWED_HOSTS"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }

    @Option(help: "Durée d'inactivité (secondes) après laquelle une session est oubliée (DEMO_MCP_SESSION_IDLE_SECONDS).")
    var sessionIdleSeconds: Int = Int(ProcessInfo.processInfo.environment["DEMO_MCP_SESSION_IDLE_SECONDS"] ?? "") ?? 1800

    @Flag(help: "Réponses JSON simples, sans session (serveur sans état), au lieu de flux SSE dans une session.")
    var jsonReplies = false

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("Le port doit être compris entre 1 et 65535.") }
        guard sessionIdleSeconds > 0 else { throw ValidationError("--session-idle-seconds doit être positif.") }
    }

    func run() async throws {
        var logger = Logger(label: "widip-demo-mcp")
        logger.logLevel = .info
        // The key is a secret: it is read from the environment only, never from the command line.
        let apiKey = ProcessInfo.processInfo.environment["MCP_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        let server = DemoMCPServer(
            options: .init(
                host: host, port: port, apiKey: apiKey, allowedHosts: allowedHosts, sessionIdleTimeout: .seconds(sessionIdleSeconds),
                jsonReplies: jsonReplies
            ),
            logger: logger
        )
        try await server.makeApplication().runService()
    }
}
