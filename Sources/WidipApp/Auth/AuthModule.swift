/// Signing in and out (API and pages), one's own account, sessions and login limits (PRD 6).
struct AuthModule: AppModule {
    let auth: AuthService
    let tokens: TokenService
    let sessions: SessionRepository
    let limiter: RateLimiter
    let meter: TokenMeter

    var accessRules: [RouteRule] { AuthController.accessRules + LoginPages.accessRules }

    var maintenance: [MaintenanceTask] {
        [
            MaintenanceTask(name: "rate limit windows") { try await limiter.prune() },
            MaintenanceTask(name: "expired sessions") { try await sessions.pruneExpired() },
        ]
    }

    func addRoutes(to routes: ModuleRoutes) {
        AuthController(auth: auth, tokens: tokens, proxies: routes.proxies, meter: meter).addRoutes(public: routes.anyone, authenticated: routes.signedIn)
        LoginPages(auth: auth, pages: routes.pages, proxies: routes.proxies, meter: meter).addRoutes(to: routes)
    }
}
