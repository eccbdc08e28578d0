import Foundation
import ServiceLifecycle

/// SAFEGUARD (PRD 3.2): approval of the L3/L4 actions that workflows and the assistant ask for, their execution,
/// exactly once, and the live page where technicians decide.
struct SafeguardModule: AppModule {
    let safeguard: SafeguardService
    let mcp: MCPToolService
    let pages: SafeguardPageSettings
    /// The expiry clock, the executor and the callback sender.
    let services: [any Service]

    var accessRules: [RouteRule] { SafeguardController.accessRules + SafeguardPages.accessRules }
    var navigation: [NavigationEntry] {
        [
            NavigationEntry(
                label: "SAFEGUARD", path: "/safeguard",
                tile: ModuleTile(name: "SAFEGUARD", icon: "safeguard", description: "Approbation des actions sensibles (L3 et L4)")
            )
        ]
    }

    func addRoutes(to routes: ModuleRoutes) {
        SafeguardController(safeguard: safeguard, mcp: mcp, timeZone: pages.timeZone)
            .addRoutes(workflows: routes.workflows, users: routes.signedIn, either: routes.usersOrWorkflows)
        SafeguardPages(safeguard: safeguard, pages: routes.pages, settings: pages).addRoutes(to: routes.signedIn)
    }
}
