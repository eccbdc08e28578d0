/// WIDIP's tools over the Model Context Protocol (PRD 3.1.2): their levels, calls, and the "Outils MCP" page.
struct MCPModule: AppModule {
    let mcp: MCPToolService
    let toolCalls: ToolCallRepository

    var accessRules: [RouteRule] { MCPController.accessRules + MCPToolsPages.accessRules }
    var navigation: [NavigationEntry] { [NavigationEntry(label: "Outils MCP", path: "/outils-mcp")] }

    var maintenance: [MaintenanceTask] {
        [MaintenanceTask(name: "tool call statistics") { try await toolCalls.prune(olderThan: Self.toolCallRetention) }]
    }

    func addRoutes(to routes: ModuleRoutes) {
        MCPController(mcp: mcp).addRoutes(to: routes.signedIn)
        MCPToolsPages(mcp: mcp, pages: routes.pages).addRoutes(to: routes.signedIn)
    }

    /// The tools page shows the last 24 hours; a month is kept for trends.
    static let toolCallRetention: Duration = .seconds(30 * 24 * 3600)
}
