import Hummingbird

/// Liveness for load balancers (`/health`, anonymous) and the detailed state of every dependency for signed-in
/// users (`/api/workflows/health`).
struct HealthModule: AppModule {
    let health: HealthService

    var accessRules: [RouteRule] {
        [RouteRule(.get, "/health", .anonymous), RouteRule(.get, "/api/workflows/health", .level(.n0))]
    }

    struct LivenessOutput: Encodable, Sendable {
        let status: String
        let database: String
    }

    struct HealthOutput: Encodable, Sendable {
        let status: String
        let components: [HealthService.Component]
    }

    func addRoutes(to routes: ModuleRoutes) {
        routes.anyone.get("/health") { _, _ in
            let database = await health.database()
            let ok = database.status == "ok"
            return JSONBody(LivenessOutput(status: ok ? "ok" : "degraded", database: database.status), status: ok ? .ok : .serviceUnavailable)
        }
        routes.signedIn.get("/api/workflows/health") { _, _ in
            let components = await health.components()
            let degraded = components.contains { $0.status == "down" }
            return JSONBody(HealthOutput(status: degraded ? "degraded" : "ok", components: components))
        }
    }
}
