import Foundation
import Logging
import ServiceLifecycle

/// The real-time bus (no Redis): this instance's listener on Postgres, the WebSocket channels and the polling
/// fallback, and the retention of the `events` rows that reconnecting clients replay.
struct RealtimeModule: AppModule {
    let hub: EventHub
    let events: EventRepository
    let listener: EventListener
    let retention: Duration
    let trustedOrigins: Set<String>
    let logger: Logger

    var accessRules: [RouteRule] { RealtimeController.accessRules }
    var services: [any Service] { [listener] }
    var maintenance: [MaintenanceTask] {
        [MaintenanceTask(name: "events past retention") { try await events.prune(olderThan: retention) }]
    }

    func addRoutes(to routes: ModuleRoutes) {
        RealtimeController(hub: hub, events: events, trustedOrigins: trustedOrigins, logger: logger).addRoutes(to: routes)
    }
}
