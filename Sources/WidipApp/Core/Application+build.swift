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
    /// This instance's real-time subscribers, fed by its event listener.
    public let hub: EventHub
    /// Opened once the migrations have run, for the background services that need the tables.
    let databaseReady = DatabaseReady()
    let mcpConnection: MCPConnection?
    let httpClient: HTTPClient
    let toolCalls: ToolCallRepository
    let userRepository: UserRepository
    let sessions: SessionRepository
    let limiter: RateLimiter

    public let safeguard: SafeguardService
    let safeguardLedger: SafeguardLedger
    let llm: LLMProviders
    let chat: ChatService
    let tokenMeter: TokenMeter
    let approvalRepository: ApprovalRepository
    let knowledge: KnowledgeRepository
    let embeddings: EmbeddingClient

    /// `approvals` is where L3+ approvals are checked: SAFEGUARD's ledger unless a test gives another.
    public init(config: AppConfig, logger: Logger, approvals: (any ApprovalLedger)? = nil) async throws {
        self.config = config
        self.logger = logger
        self.hub = EventHub()
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
        // Concurrent tool calls and streamed answers each hold a connection for their whole reply; the default of 8
        // would queue them, and a request kept waiting for a connection fails after the connect timeout. A model
        // server gets as many as its queue lets through (`*_MAX_CONCURRENT`), plus room for its health probe.
        httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(64, (config.chat.providers.map(\.maxConcurrent).max() ?? 0) + 4)
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
        let approvalRepository = ApprovalRepository(client: postgres, logger: logger)
        let ledger = SafeguardLedger(database: config.databaseURL, repository: approvalRepository, settings: config.safeguard, logger: logger)
        self.approvalRepository = approvalRepository
        knowledge = KnowledgeRepository(client: postgres, logger: logger)
        embeddings = EmbeddingClient(settings: config.embeddings, httpClient: httpClient)
        self.safeguardLedger = ledger
        let mcp = MCPToolService(
            connection: mcpConnection, catalogue: try ToolCatalogue.bundled(overrides: config.mcpToolLevels), approvals: approvals ?? ledger,
            calls: toolCalls, audit: audit, metrics: PrometheusMetricsFactory(registry: metrics), logger: logger
        )
        self.mcp = mcp
        self.safeguard = SafeguardService(
            client: postgres, repository: approvalRepository, audit: audit, mcp: mcp, impact: ImpactPreview(mcp: mcp), settings: config.safeguard,
            executorSignal: WakeSignal(), logger: logger
        )
        let llm = LLMProviders(settings: config.chat, httpClient: httpClient)
        self.llm = llm
        let chatRepository = ChatRepository(client: postgres, logger: logger, timeZone: config.displayTimeZone)
        self.tokenMeter = TokenMeter(monthly: chatRepository.monthlyUsage(of:))
        self.chat = ChatService(
            client: postgres, repository: chatRepository, llm: llm,
            generations: ChatGenerations(), watchers: ChatWatchers(), limiter: limiter, audit: audit,
            assistant: AssistantWIDIP(
                mcp: mcp, knowledge: KnowledgeSearch(repository: knowledge, embeddings: embeddings, logger: logger), safeguard: safeguard,
                situation: { [situation = SupervisionSituation(
                    drilldowns: DrilldownRepository(client: postgres, logger: logger), format: FrenchFormat(timeZone: config.displayTimeZone)
                )] client in await situation.summary(client: client) },
                settings: config.assistant, logger: logger
            ),
            logger: logger
        )
    }

    /// Applies pending migrations. An unreachable database is reported after `timeout` instead of retried forever.
    /// The limit is for reaching the database only: the migrations themselves may wait for another instance's (they
    /// take turns under a lock) or run slowly on a loaded machine, and cancelling them midway would leave that lock to
    /// whoever held the connection.
    public func migrate(timeout: Duration = .seconds(30)) async throws -> [Int] {
        let runner = MigrationRunner(client: postgres, migrations: try Migration.bundled(), logger: logger)
        let postgres = postgres
        let logger = logger
        do {
            try await withTimeout(timeout) {
                for try await _ in try await postgres.query("SELECT 1", logger: logger) {}
            }
        } catch is CancellationError {
            let url = config.databaseURL
            throw AppError(
                .unavailable, code: "database_unreachable",
                "La base de données \(url.host):\(url.port)/\(url.database) ne répond pas depuis \(timeout.components.seconds) s : vérifiez DATABASE_URL et que PostgreSQL tourne."
            )
        }
        return try await runner.migrate()
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

extension AppServices {
    /// The product's modules, once. Their order is the order of the header's links and of the home page's tiles.
    /// Each read makes new module values (an event listener among them): build one application per `AppServices`.
    var modules: [any AppModule] {
        [
            HealthModule(health: HealthService(client: postgres, config: config, mcp: mcp, llm: llm, logger: logger)),
            OpenAPIModule(),
            MetricsModule(registry: metrics, token: config.metricsToken),
            AuthModule(auth: auth, tokens: tokens, sessions: sessions, limiter: limiter, meter: tokenMeter),
            HomeModule(),
            ChatModule(
                chat: chat,
                services: [
                    ChatStreamListener(database: config.databaseURL, watchers: chat.watchers, generations: chat.generations, logger: logger),
                    ChatShutdown(generations: chat.generations, watchers: chat.watchers),
                ]
            ),
            safeguardModule,
            supervisionModule,
            UsersModule(users: users, meter: tokenMeter),
            KnowledgeModule(embedder: KnowledgeEmbedder(repository: knowledge, embeddings: embeddings, ready: databaseReady, logger: logger), audit: audit),
            MCPModule(mcp: mcp, toolCalls: toolCalls),
            AuditModule(audit: audit, users: users, timeZone: config.displayTimeZone),
            RealtimeModule(
                hub: hub, events: events, listener: EventListener(database: config.databaseURL, repository: events, hub: hub, logger: logger),
                retention: config.eventRetention, trustedOrigins: Set(config.corsOrigins), logger: logger
            ),
        ]
    }

    private var supervisionModule: SupervisionModule {
        let workflows = WorkflowRepository(client: postgres, logger: logger)
        return SupervisionModule(
            ingestion: WorkflowIngestion(repository: workflows, logger: logger),
            supervision: SupervisionService(
                dashboards: DashboardRepository(client: postgres, logger: logger), drilldowns: DrilldownRepository(client: postgres, logger: logger),
                timeZone: config.displayTimeZone
            ),
            settings: config.supervision,
            monitor: HealthMonitor(
                health: HealthService(client: postgres, config: config, mcp: mcp, llm: llm, logger: logger), embeddings: embeddings, httpClient: httpClient,
                repository: workflows, settings: config.supervision, glpiURL: config.glpiURL, ready: databaseReady, logger: logger
            )
        )
    }

    private var safeguardModule: SafeguardModule {
        let clockSignal = WakeSignal()
        let callbackSignal = WakeSignal()
        return SafeguardModule(
            safeguard: safeguard, mcp: mcp, pages: SafeguardPageSettings(timeZone: config.displayTimeZone, glpiURL: config.glpiURL),
            services: [
                SafeguardWakeups(hub: hub, executor: safeguard.executorSignal, clock: clockSignal, callbacks: callbackSignal),
                SafeguardClock(repository: approvalRepository, settings: config.safeguard, signal: clockSignal, ready: databaseReady, logger: logger),
                SafeguardExecutor(
                    repository: approvalRepository, ledger: safeguardLedger, mcp: mcp, impact: safeguard.impact, signal: safeguard.executorSignal,
                    ready: databaseReady, logger: logger
                ),
                CallbackSender(
                    queue: CallbackQueue(client: postgres, logger: logger), httpClient: httpClient, workflows: config.workflowTokens, signal: callbackSignal, ready: databaseReady, logger: logger
                ),
            ]
        )
    }

    /// Every route's access level, as the modules declare them.
    public var routeTable: RouteAccessTable { RouteAccessTable(modules: modules) }
}

/// The router with every module's routes behind the shared middleware, and what it registered.
struct AppRouter {
    let router: Router<AppRequestContext>
    let table: RouteAccessTable
    /// "METHOD /path" of every route the router serves (HEAD aside), to compare with `table`.
    let registeredRoutes: Set<String>
}

/// Builds the router: middleware, then the routes of every module. Templates and other files the pages and routes
/// serve are read here, when a server is built, not by the command-line tools that share `AppServices`.
func buildRouter(services: AppServices, modules: [any AppModule]) async throws -> AppRouter {
    let config = services.config
    let table = RouteAccessTable(modules: modules)
    let pages = Pages(
        renderer: try await PageRenderer(), navigation: Navigation(modules: modules, table: table), tokens: services.tokens,
        format: FrenchFormat(timeZone: config.displayTimeZone), routes: table,
        pendingApprovals: { [safeguard = services.safeguard] in try? await safeguard.pendingCount() }
    )
    let router = RecordingRouter(Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints))
    // Order matters: headers wrap everything (error pages included); the session is known before errors are mapped, so
    // an error page shown to a signed-in user keeps the header.
    router.add(middleware: SecurityHeadersMiddleware(proxies: config.trustedProxies))
    router.add(middleware: AllowListCORSMiddleware(allowedOrigins: Set(config.corsOrigins)))
    let errors = ErrorMiddleware(table: table, pages: pages)
    router.add(middleware: SessionMiddleware(auth: services.auth, workflows: config.workflowTokens, errors: errors))
    router.add(middleware: errors)
    router.add(middleware: PathMiddleware())
    // Static files are served when no route matched (the router's 404 reaches this middleware as an error).
    if let publicDirectory = Bundle.module.url(forResource: "Public", withExtension: nil, subdirectory: "Resources") {
        router.add(
            middleware: FileMiddleware(
                publicDirectory.path, urlBasePath: "/static",
                // Assets are not fingerprinted: browsers revalidate (cheap 304s) so a deploy is seen at once.
                cacheControl: .init([(MediaType(type: .text), [.noCache]), (MediaType(type: .application), [.noCache]), (MediaType(type: .image), [.noCache])]),
                logger: services.logger
            )
        )
    }
    if let highlight = config.chat.highlightScriptDirectory {
        router.add(
            middleware: FileMiddleware(
                highlight, urlBasePath: ChatSettings.highlightURLBase, cacheControl: .init([(MediaType(type: .application), [.maxAge(86_400)])]),
                logger: services.logger
            )
        )
    }
    router.add(
        middleware: AccessMiddleware(
            table: table, tokens: services.tokens, limiter: services.limiter, requestsPerMinute: config.rateLimitPerMinute,
            trustedOrigins: Set(config.corsOrigins)
        )
    )
    let routes = ModuleRoutes(
        anyone: router.group(), signedIn: router.group(context: AuthenticatedContext.self), workflows: router.group(context: WorkflowContext.self),
        usersOrWorkflows: router.group(context: CallerContext.self), pages: pages, proxies: config.trustedProxies
    )
    for module in modules { try module.addRoutes(to: routes) }
    return AppRouter(router: router.router, table: table, registeredRoutes: router.routes)
}

/// Builds the whole server on `services`: the router, the modules' background services, migrations on start.
public func buildApplication(services: AppServices) async throws -> some ApplicationProtocol {
    let config = services.config
    let logger = services.logger
    let modules = services.modules
    let built = try await buildRouter(services: services, modules: modules)
    var app = Application(
        router: built.router,
        // Upgrades go through the same router, so sessions, levels and origins are checked before any byte of WebSocket.
        server: .widip(
            router: built.router,
            webSocket: .init(
                maxFrameSize: 64 * 1024, extensions: config.webSocketCompression ? [.perMessageDeflate(minFrameSizeToCompress: 64)] : [],
                autoPing: .enabled(timePeriod: .seconds(25))
            ),
            timeouts: config.connectionTimeouts
        ),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "widip"),
        services: [services.postgres] + modules.flatMap(\.services) + [
            MaintenanceService(tasks: modules.flatMap(\.maintenance), interval: .seconds(60), logger: logger),
            OutboundHTTPService(httpClient: services.httpClient, mcp: services.mcpConnection),
        ],
        logger: logger
    )
    for lowered in try ToolCatalogue.lowered(by: config.mcpToolLevels) {
        logger.warning(
            "MCP_TOOL_LEVELS lowers a tool below its catalogue level",
            metadata: ["tool": "\(lowered.tool)", "catalogue": "\(lowered.catalogue.label)", "configured": "\(lowered.configured.label)"]
        )
    }
    let hub = services.hub
    app.beforeServerStarts {
        let applied = try await services.migrate()
        if !applied.isEmpty { logger.info("Database migrated", metadata: ["versions": "\(applied)"]) }
        services.databaseReady.open()
        await hub.setStartingPoint(try await services.events.latestID())
    }
    return app
}

/// `widip serve`: the services from the configuration, then the server.
public func buildApplication(config: AppConfig, logger: Logger? = nil) async throws -> some ApplicationProtocol {
    try await buildApplication(services: try await AppServices(config: config, logger: logger ?? Logger(label: "widip")))
}
