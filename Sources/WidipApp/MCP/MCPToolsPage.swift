import Foundation
import Hummingbird

struct MCPToolRow: Sendable {
    let name: String
    let label: String
    let description: String
    let levelCode: String
    let levelClass: String
    let needsApproval: Bool
    let annotations: String
    let catalogued: Bool
    let offered: Bool
    let calls: String
    let refused: String
    let successRate: String
    let rateClass: String
    let medianDuration: String
    let lastCall: String
    let lastCallISO: String?
}

struct MCPToolsPage: PageModel {
    static let template = "mcp/tools"
    let chrome: Chrome
    let serverClass: String
    let serverStatus: String
    let serverDetail: String
    let problem: String?
    let listError: String?
    let tools: [MCPToolRow]
    let uncatalogued: String?
    let summary: String
    let emptyTools: String
}

/// "Outils MCP" (N3+): what the server offers, at which level, and how the calls of the last 24 hours went.
struct MCPToolsPages {
    static let accessRules = [RouteRule(.get, "/outils-mcp", .level(.n3))]

    let mcp: MCPToolService
    let pages: Pages
    var format: FrenchFormat { pages.format }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("/outils-mcp") { _, context in try await toolsPage(context) }
    }

    func toolsPage(_ context: AuthenticatedContext) async throws -> Response {
        async let state = mcp.serverState()
        let stats = try await mcp.stats(since: Date().addingTimeInterval(-24 * 3600))
        let server = await state
        var listError: String?
        var tools: [ToolDescription] = []
        if server.reachable {
            do {
                tools = try await mcp.tools(refresh: true)
            } catch let error as AppError {
                listError = error.message
            }
        }
        let rows = tools.map { tool in
            let toolStats = stats[tool.name] ?? .none
            var annotations: [String] = []
            if tool.readOnlyHint == true { annotations.append("lecture seule") }
            if tool.destructiveHint == true { annotations.append("destructif") }
            if tool.readOnlyHint == false && tool.destructiveHint != true { annotations.append("modifie des données") }
            return MCPToolRow(
                name: tool.name, label: tool.label, description: tool.description, levelCode: tool.level.label, levelClass: Self.levelClass(tool.level),
                needsApproval: tool.level.needsApproval, annotations: annotations.isEmpty ? "—" : annotations.joined(separator: ", "),
                catalogued: tool.catalogued, offered: tool.offered, calls: format.integer(toolStats.calls), refused: format.integer(toolStats.refused),
                successRate: toolStats.successRate.map { format.percent($0) } ?? "—",
                rateClass: toolStats.successRate.map { $0 >= 0.95 ? "status-ok" : ($0 >= 0.8 ? "status-warning" : "status-critical") } ?? "status-neutral",
                medianDuration: toolStats.p50Milliseconds.map(durationText) ?? "—",
                lastCall: toolStats.lastCallAt.map { format.relative($0) } ?? "—", lastCallISO: toolStats.lastCallAt.map(FrenchFormat.iso)
            )
        }
        let unknown = tools.filter { !$0.catalogued }.count
        let totalCalls = stats.values.reduce(0) { $0 + $1.calls }
        let succeeded = stats.values.reduce(0) { $0 + $1.successes }
        let totalRefused = stats.values.reduce(0) { $0 + $1.refused }
        var summary =
            totalCalls == 0
            ? "Aucun appel d'outil ces dernières 24 heures."
            : "\(format.integer(totalCalls)) appel\(totalCalls > 1 ? "s" : "") ces dernières 24 heures, \(format.percent(Double(succeeded) / Double(totalCalls))) réussis (objectif : plus de 95 %)."
        if totalRefused > 0 {
            summary += " \(format.integer(totalRefused)) refus (niveau insuffisant ou approbation manquante), hors taux de réussite."
        }
        let latency = server.latency.map { "latence \(durationText($0.milliseconds))" }
        let origin = server.endpoint.map(HealthService.origin)
        return try pages.response(
            MCPToolsPage(
                chrome: await pages.chrome("Outils MCP", context, current: "/outils-mcp"),
                serverClass: server.reachable ? "status-ok" : (server.endpoint == nil ? "status-neutral" : "status-critical"),
                serverStatus: server.reachable ? "Joignable" : (server.endpoint == nil ? "Non configuré" : "Injoignable"),
                serverDetail: [origin, latency].compactMap { $0 }.joined(separator: " · "), problem: server.problem, listError: listError, tools: rows,
                uncatalogued: unknown == 0
                    ? nil
                    : "\(unknown) outil\(unknown > 1 ? "s" : "") proposé\(unknown > 1 ? "s" : "") par le serveur \(unknown > 1 ? "sont inconnus" : "est inconnu") du catalogue WIDIP : \(unknown > 1 ? "ils sont traités" : "il est traité") en L4 (jamais sans approbation).",
                summary: summary,
                emptyTools: server.endpoint == nil
                    ? "Aucun outil à afficher : aucun serveur MCP n'est configuré (MCP_SERVER_URL)."
                    : "Aucun outil à afficher : le serveur MCP ne répond pas."
            )
        )
    }

    /// "12 ms", "1,4 s": a tool call's duration at the precision a technician reads it.
    func durationText(_ milliseconds: Double) -> String {
        milliseconds < 1000 ? "\(format.integer(Int(milliseconds.rounded()))) ms" : "\(format.decimal((milliseconds / 100).rounded() / 10)) s"
    }

    static func levelClass(_ level: ToolLevel) -> String {
        switch level {
        case .l0, .l1: "status-ok"
        case .l2: "status-info"
        case .l3: "status-warning"
        case .l4: "status-critical"
        }
    }
}
