import Hummingbird
import HummingbirdWebSocket
import ServiceLifecycle

/// A feature of the product (Auth, Users, Audit, MCP, SAFEGUARD…). A module owns its folder: its routes with their
/// access levels, API controller, pages and view models, and the background work it needs. The application lists
/// its modules once (`AppServices.modules`); nothing else central is edited to add one.
protocol AppModule: Sendable {
    /// Every route the module registers, with who may call it (PRD 3.4.1). The access middleware refuses a route
    /// missing here; `RouteTableTests` fails when this list and the registered routes differ.
    var accessRules: [RouteRule] { get }
    /// Its entries in the header and on the home page. Who sees them follows the access rule of their path.
    var navigation: [NavigationEntry] { get }
    /// Idempotent clean-up run every minute by every instance.
    var maintenance: [MaintenanceTask] { get }
    /// Long-running work started with the server and stopped with it (listeners, expiry jobs, monitors).
    var services: [any Service] { get }
    /// Throws when something the routes serve cannot be loaded: the server does not start without it.
    func addRoutes(to routes: ModuleRoutes) throws
}

extension AppModule {
    var navigation: [NavigationEntry] { [] }
    var maintenance: [MaintenanceTask] { [] }
    var services: [any Service] { [] }
}

/// Where a module registers its routes: `anyone` for anonymous routes, `signedIn` for users (a handler there cannot
/// run without one), `workflows` and `usersOrWorkflows` for the Phase 1 workflows' routes, and what every page needs.
struct ModuleRoutes {
    let anyone: RouterGroup<AppRequestContext>
    let signedIn: RouterGroup<AuthenticatedContext>
    /// Routes declared `.workflow`: a handler there cannot run without a workflow token.
    let workflows: RouterGroup<WorkflowContext>
    /// Routes declared `.levelOrWorkflow`: a signed-in user or a workflow.
    let usersOrWorkflows: RouterGroup<CallerContext>
    let pages: Pages
    /// Whose `X-Forwarded-*` headers to believe.
    let proxies: TrustedProxies
}

/// One idempotent clean-up statement of a module; `MaintenanceService` runs them all.
struct MaintenanceTask: Sendable {
    let name: String
    let run: @Sendable () async throws -> Void
}

extension ModuleRoutes {
    /// A WebSocket route for signed-in users. Upgrades go through the same router and middleware as every other
    /// request, so the route's level, the session and the rate limit are checked before any byte of WebSocket; the
    /// handlers get the identity the access middleware required.
    func signedInWebSocket(
        _ path: String, shouldUpgrade: @escaping @Sendable (Request, Identity) async throws -> RouterShouldUpgrade,
        onUpgrade: @escaping @Sendable (WebSocketInboundStream, WebSocketOutboundWriter, Identity) async throws -> Void
    ) {
        anyone.ws(RouterPath(path)) { request, context in
            guard let identity = context.identity else { throw AppError.notAuthenticated }
            return try await shouldUpgrade(request, identity)
        } onUpgrade: { inbound, outbound, context in
            // The context is the one `shouldUpgrade` accepted: it has an identity.
            guard let identity = context.requestContext.identity else { return }
            try await onUpgrade(inbound, outbound, identity)
        }
    }
}
