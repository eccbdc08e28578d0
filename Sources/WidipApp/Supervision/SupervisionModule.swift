import Foundation
import ServiceLifecycle

/// SUPERVISION (PRD 3.3): what the Phase 1 workflows report (their events, Observium's webhook), the health of the
/// platform's dependencies, and the five dashboards over them.
struct SupervisionModule: AppModule {
    let ingestion: WorkflowIngestion
    let supervision: SupervisionService
    let settings: SupervisionSettings
    let monitor: HealthMonitor

    var services: [any Service] { settings.healthCheckInterval == nil ? [] : [monitor] }
    var maintenance: [MaintenanceTask] {
        let repository = ingestion.repository
        return [
            MaintenanceTask(name: "health checks older than 30 days") { try await repository.pruneHealthChecks(olderThan: 30) },
            MaintenanceTask(name: "delivery receipts older than 30 days") { try await repository.pruneReceipts(olderThan: 30) },
        ]
    }

    var accessRules: [RouteRule] { WorkflowController.accessRules + SupervisionController.accessRules + SupervisionPages.accessRules }
    var navigation: [NavigationEntry] {
        [
            NavigationEntry(
                label: "SUPERVISION", path: "/supervision",
                tile: ModuleTile(name: "SUPERVISION", icon: "supervision", description: "Tableaux de bord des workflows en temps réel")
            )
        ]
    }

    func addRoutes(to routes: ModuleRoutes) {
        WorkflowController(ingestion: ingestion, observiumToken: settings.observiumWebhookToken)
            .addRoutes(workflows: routes.workflows, anyone: routes.anyone)
        SupervisionController(supervision: supervision, timeZone: supervision.timeZone).addRoutes(to: routes.signedIn)
        SupervisionPages(supervision: supervision, pages: routes.pages).addRoutes(to: routes.signedIn)
    }
}
