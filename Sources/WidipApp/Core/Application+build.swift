import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdWSCompression
import Logging
import NIOPosix
import PostgresNIO
import Prometheus
import ServiceLifecycle

/// Everything a running server is made of, wired once. `widip serve`, the command-line tools and every live test
/// use these same parts.
public struct AppServices: Sendable {
    public let config: AppConfig
    public let logger: Logger
    public let postgres: PostgresClient
    public let users: UsersService
    public let auth: AuthService
    public let audit: AuditRepository
    public let tokens: TokenService
    public let events: EventRepository
    public let mcp: MCPToolService
    public let metrics: PrometheusCollectorRegistry
    let mcpConnection: MCPConnection?
    let httpClient: HTTPClient
    let toolCalls: ToolCallRepository
    let userRepository: UserRepository
    let sessions: SessionRepository
    let limiter: RateLimiter

    /// `approvals` is where L3+ approvals are checked; until SAFEGUARD provides its ledger, none exists.
    public init(config: AppConfig, logger: Logger, approvals: any ApprovalLedger = NoApprovalLedger()) async throws {
        self.config = config
        self.logger = logger
        let postgres = config.databaseURL.makeClient(poolSize: config.databasePoolSize, logger: logger)
        self.postgres = postgres
        let userRepository = UserRepository(client: postgres, logger: logger)
        let sessions = SessionRepository(client: postgres, logger: logger)
        let audit = AuditRepository(client: postgres, logger: logger)
        let limiter = RateLimiter(client: postgres, logger: logger)
        let hasher = PasswordHasher(cost: config.bcryptCost, threadPool: .singleton)
        let tokens = await TokenService(secret: config.jwtSecret, expireHours: config.jwtExpireHours)
        self.userRepository = userRepository
        self.sessions = sessions
        self.audit = audit
        self.limiter = limiter
        self.tokens = tokens
        self.events = EventRepository(client: postgres, logger: logger)
        self.users = UsersService(client: postgres, users: userRepository, sessions: sessions, audit: audit, hasher: hasher, logger: logger)
        self.auth = AuthService(
            client: postgres, users: userRepository, sessions: sessions, audit: audit, hasher: hasher, tokens: tokens, limiter: limiter, logger: logger
        )
        var httpConfiguration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5)))
        // Concurrent tool calls each hold a connection for their whole reply; the default of 8 would queue them.
        httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        // A refused connection fails the call at once ("MCP server unreachable") instead of being retried until the
        // connect timeout; the caller decides whether to try again.
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        let httpClient = HTTPClient(eventLoopGroup: .singletonMultiThreadedEventLoopGroup, configuration: httpConfiguration)
        self.httpClient = httpClient
        let mcpConnection = config.mcpEndpoint.map {
            MCPConnection(settings: .init(endpoint: $0, apiKey: config.mcpAPIKey, callTimeout: config.mcpCallTimeout), httpClient: httpClient, logger: logger)
        }
        self.mcpConnection = mcpConnection
        let metrics = PrometheusCollectorRegistry()
        self.metrics = metrics
        let toolCalls = ToolCallRepository(client: postgres, logger: logger)
        self.toolCalls = toolCalls
        self.mcp = MCPToolService(
            connection: mcpConnection, catalogue: try ToolCatalogue.bundled(overrides: config.mcpToolLevels), approvals: approvals, calls: toolCalls,
            audit: audit, metrics: PrometheusMetricsFactory(registry: metrics), logger: logger
        )
    }

    /// Applies pending migrations. An unreachable database is reported after `timeout` instead of retried forever.
    public func migrate(timeout: Duration = .seconds(30)) async throws -> [Int] {
        let runner = MigrationRunner(client: postgres, migrations: try Migration.bundled(), logger: logger)
        do {
            return try await withTimeout(timeout) { try await runner.migrate() }
        } catch is CancellationError {
            let url = config.databaseURL
            throw AppError(
                .unavailable, code: "database_unreachable",
                "La base de données \(url.host):\(url.port)/\(url.database) ne répond pas depuis \(timeout.components.seconds) s : vérifiez DATABASE_URL et que PostgreSQL tourne."
            )
        }
    }

    /// Runs `body` with the Postgres client's pool running (for the command-line tools), then closes the outbound
    /// HTTP client.
    public func withDatabase<Value: Sendable>(_ body: @Sendable (AppServices) async throws -> Value) async throws -> Value {
        let result: Result<Value, any Error>
        do {
            result = .success(
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await postgres.run() }
                    defer { group.cancelAll() }
                    return try await body(self)
                }
            )
        } catch {
            result = .failure(error)
        }
        await mcpConnection?.close()
        try? await httpClient.shutdown()
        return try result.get()
    }
}

/// Builds the whole server: database pool, migrations on start, middleware, API, pages and static files.
public func buildApplication(config: AppConfig, logger: Logger? = nil) async throws -> some ApplicationProtocol {
    let logger = logger ?? Logger(label: "widip")
    let services = try await AppServices(config: config, logger: logger)
    let renderer = try await PageRenderer()
    let health = HealthService(client: services.postgres, config: config, mcp: services.mcp, logger: logger)
    let pages = PagesController(
        renderer: renderer, auth: services.auth, users: services.users, audit: services.audit, tokens: services.tokens,
        mcp: services.mcp, format: FrenchFormat(timeZone: config.displayTimeZone)
    )

    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Order matters: headers wrap everything (error pages included); errors are mapped before they reach them.
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: AllowListCORSMiddleware(allowedOrigins: Set(config.corsOrigins)))
    let errors = ErrorMiddleware(renderPage: { error, request, context in pages.errorResponse(error, request: request, context: context) })
    router.add(middleware: errors)
    router.add(middleware: SessionMiddleware(auth: services.auth))
    // Again inside the session, so an error page shown to a signed-in user keeps the header; the outer one still
    // maps what fails before (a database outage while reading the session).
    router.add(middleware: errors)
    // Static files are served when no route matched (the router's 404 reaches this middleware as an error).
    if let publicDirectory = Bundle.module.url(forResource: "Public", withExtension: nil, subdirectory: "Resources") {
        router.add(
            middleware: FileMiddleware(
                publicDirectory.path, urlBasePath: "/static",
                // Assets are not fingerprinted: browsers revalidate (cheap 304s) so a deploy is seen at once.
                cacheControl: .init([(MediaType(type: .text), [.noCache]), (MediaType(type: .application), [.noCache]), (MediaType(type: .image), [.noCache])]),
                logger: logger
            )
        )
    }
    router.add(
        middleware: AccessMiddleware(
            tokens: services.tokens, limiter: services.limiter, requestsPerMinute: config.rateLimitPerMinute, trustedOrigins: Set(config.corsOrigins)
        )
    )

    let open = router.group()
    let signedIn = router.group(context: AuthenticatedContext.self)
    let openAPI = try OpenAPIDocument.load()
    open.get("/api/openapi.yaml") { _, _ in openAPI.response() }
    HealthController(health: health).addRoutes(public: open, authenticated: signedIn)
    AuthController(auth: services.auth, tokens: services.tokens).addRoutes(public: open, authenticated: signedIn)
    UsersController(users: services.users, audit: services.audit, timeZone: config.displayTimeZone).addRoutes(to: signedIn)
    MCPController(mcp: services.mcp).addRoutes(to: signedIn)
    MetricsController(registry: services.metrics, token: config.metricsToken).addRoutes(to: open)
    pages.addRoutes(public: open, authenticated: signedIn)
    let hub = EventHub()
    RealtimeController(hub: hub, events: services.events, trustedOrigins: Set(config.corsOrigins), logger: logger).addRoutes(to: open)

    var app = Application(
        router: router,
        // Upgrades go through the same router, so sessions, levels and origins are checked before any byte of WebSocket.
        server: .http1WebSocketUpgrade(
            webSocketRouter: router,
            configuration: .init(
                maxFrameSize: 64 * 1024, extensions: config.webSocketCompression ? [.perMessageDeflate(minFrameSizeToCompress: 64)] : [],
                autoPing: .enabled(timePeriod: .seconds(25))
            )
        ),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "widip"),
        services: [
            services.postgres,
            EventListener(database: config.databaseURL, repository: services.events, hub: hub, logger: logger),
            MaintenanceService(
                sessions: services.sessions, limiter: services.limiter, events: services.events, toolCalls: services.toolCalls,
                eventRetention: config.eventRetention, interval: .seconds(60), logger: logger
            ),
            OutboundHTTPService(httpClient: services.httpClient, mcp: services.mcpConnection),
        ],
        logger: logger
    )
    app.beforeServerStarts {
        let applied = try await services.migrate()
        if !applied.isEmpty { logger.info("Database migrated", metadata: ["versions": "\(applied)"]) }
        await hub.setStartingPoint(try await services.events.latestID())
    }
    return app
}

/// The API description, served as written in the repository.
struct OpenAPIDocument: Sendable {
    let text: String

    static func load() throws -> OpenAPIDocument {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml", subdirectory: "Resources") else {
            throw AppError(.internalError, "openapi.yaml est introuvable dans l'installation.")
        }
        return OpenAPIDocument(text: try String(contentsOf: url, encoding: .utf8))
    }

    func response() -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/yaml; charset=utf-8", .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}
