import DemoMCP
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import WidipTestSupport
@testable import WidipApp

/// The demo MCP server running in this process on a real socket: the peer the MCP client tests talk to. It can be
/// stopped and started again on the same port, as a restarted production server would be.
final class DemoPeer: Sendable {
    let server: DemoMCPServer
    let port: Int
    private let running: InProcessServer

    var endpoint: String { "http://127.0.0.1:\(port)/mcp" }

    private init(server: DemoMCPServer, port: Int, running: InProcessServer) {
        self.server = server
        self.port = port
        self.running = running
    }

    /// Starts on `port`, or on a free port below Linux's ephemeral range (32768–60999) so that the port is still
    /// free when the test restarts the server on it: client sockets of a busy test run take ports from that range.
    static func start(port: Int? = nil, _ adjust: (inout DemoMCPServer.Options) -> Void = { _ in }) async throws -> DemoPeer {
        if let port {
            // A restart on the port just released: under load the old listening socket can take a moment to close.
            var lastError: (any Error)?
            for _ in 0..<100 {
                do {
                    return try await start(exactly: port, adjust)
                } catch {
                    lastError = error
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            throw lastError ?? TestSetupError("the demo MCP server did not start on port \(port)")
        }
        var lastError: (any Error)?
        for _ in 0..<10 {
            do {
                return try await start(exactly: TestPorts.reserve(), adjust)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TestSetupError("no free port for the demo MCP server")
    }

    private static func start(exactly port: Int, _ adjust: (inout DemoMCPServer.Options) -> Void) async throws -> DemoPeer {
        var options = DemoMCPServer.Options(host: "127.0.0.1", port: port)
        adjust(&options)
        var logger = Logger(label: "demo-mcp-test")
        logger.logLevel = .critical
        let server = DemoMCPServer(options: options, logger: logger)
        let (bound, announce) = AsyncStream<Int>.makeStream()
        let app = server.makeApplication { port in
            announce.yield(port)
            announce.finish()
        }
        let running = InProcessServer(app, name: "demo MCP server") { announce.finish() }
        var ports = bound.makeAsyncIterator()
        guard let actual = await ports.next() else {
            let failure = await running.result
            throw TestSetupError("the demo MCP server did not start on port \(port): \(failure)")
        }
        return DemoPeer(server: server, port: actual, running: running)
    }

    func stop() async {
        await running.stop()
    }

    static func with<Value>(_ adjust: (inout DemoMCPServer.Options) -> Void = { _ in }, _ body: (DemoPeer) async throws -> Value) async throws -> Value {
        try await stopping(try await start(adjust), { $0.stop }, body)
    }
}

/// Runs `body` with a started peer, then stops the peer whether `body` threw or not.
func stopping<Peer, Value>(_ peer: Peer, _ stop: (Peer) -> () async -> Void, _ body: (Peer) async throws -> Value) async throws -> Value {
    do {
        let value = try await body(peer)
        await stop(peer)()
        return value
    } catch {
        await stop(peer)()
        throw error
    }
}

/// Serves `router` on a free port of 127.0.0.1 in this process until it is stopped: the peers that stand for other
/// systems in the tests.
func serveInProcess(_ router: Router<BasicRequestContext>, name: String) async throws -> (port: Int, server: InProcessServer) {
    var logger = Logger(label: name)
    logger.logLevel = .critical
    let (bound, announce) = AsyncStream<Int>.makeStream()
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in
            announce.yield(channel.localAddress?.port ?? 0)
            announce.finish()
        },
        logger: logger
    )
    let server = InProcessServer(app, name: name) { announce.finish() }
    var ports = bound.makeAsyncIterator()
    guard let port = await ports.next() else { throw TestSetupError("the \(name) did not start") }
    return (port, server)
}

/// A server of the tests running in this process. It stops with a graceful shutdown first: cancelling the serving
/// task alone can drop a connection accepted but not yet handed over, and NIO traps on that (apple/swift-nio#2813;
/// it crashed a whole test run once). Handlers still running after `grace` (a peer playing a hung server) are then
/// cancelled; by then nothing listens any more.
final class InProcessServer: Sendable {
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    private let exited = Exited()

    private final class Exited: Sendable {
        let done = Mutex(false)
    }

    init(_ app: some Service, name: String, onExit: @escaping @Sendable () -> Void = {}) {
        var logger = Logger(label: name)
        logger.logLevel = .critical
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        self.group = group
        let exited = exited
        task = Task {
            defer {
                exited.done.withLock { $0 = true }
                onExit()
            }
            try await group.run()
        }
    }

    var result: Result<Void, any Error> { get async { await task.result } }

    func stop(grace: Duration = .seconds(1)) async {
        await group.triggerGracefulShutdown()
        let deadline = ContinuousClock.now + grace
        while !exited.done.withLock({ $0 }), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        task.cancel()
        _ = await task.result
    }
}

/// A hung MCP server over a real socket: it accepts the connection and answers every POST with the head of an SSE
/// stream, then nothing, as a server stuck behind a dead back end does.
enum SilentMCPServer {
    static func with<Value: Sendable>(_ body: @escaping @Sendable (String) async throws -> Value) async throws -> Value {
        let router = Router()
        router.post("/mcp") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: ": en attente\n\n"))
                try await Task.sleep(for: .seconds(120))
                try await writer.finish(nil)
            })
        }
        let (port, server) = try await serveInProcess(router, name: "silent MCP server")
        return try await stopping(server, { server in { await server.stop() } }) { _ in try await body("http://127.0.0.1:\(port)/mcp") }
    }
}

/// Approvals in a table of the test's own, to exercise `MCPToolService`'s side of the contract (consume once, give
/// back what never ran) apart from SAFEGUARD's rules, which `SafeguardTests` checks through the real ledger.
struct TableApprovalLedger: ApprovalLedger {
    let client: PostgresClient

    static let schema = """
        CREATE TABLE test_approvals (
            id TEXT PRIMARY KEY, tool TEXT NOT NULL, arguments JSONB NOT NULL, status TEXT NOT NULL, approved_by TEXT,
            expires_at TIMESTAMPTZ NOT NULL, used_at TIMESTAMPTZ
        )
        """

    func add(id: String, tool: String, arguments: JSONValue, status: String = "approved", expiresIn seconds: Int = 600, approvedBy: String = "khora") async throws {
        try await client.query(
            """
            INSERT INTO test_approvals (id, tool, arguments, status, approved_by, expires_at)
            VALUES (\(id), \(tool), \(arguments.jsonText)::jsonb, \(status), \(approvedBy), now() + make_interval(secs => \(Double(seconds))))
            """,
            logger: TestDatabase.logger
        )
    }

    func consume(approvalID: String, tool: String, arguments: JSONValue, caller: ToolCaller) async throws -> ConsumedApproval {
        let taken = try await client.query(
            """
            UPDATE test_approvals SET used_at = now()
            WHERE id = \(approvalID) AND tool = \(tool) AND arguments = \(arguments.jsonText)::jsonb
              AND status = 'approved' AND expires_at > now() AND used_at IS NULL
            RETURNING approved_by
            """,
            logger: TestDatabase.logger
        )
        for try await approvedBy in taken.decode(String?.self) { return ConsumedApproval(id: approvalID, approvedBy: approvedBy) }
        let found = try await client.query(
            """
            SELECT tool = \(tool) AND arguments = \(arguments.jsonText)::jsonb, status, expires_at > now(), used_at IS NOT NULL
            FROM test_approvals WHERE id = \(approvalID)
            """,
            logger: TestDatabase.logger
        )
        for try await (matches, status, live, used) in found.decode((Bool, String, Bool, Bool).self) {
            if used { throw AppError.approvalUsed }
            if status != "approved" { throw AppError.approvalNotApproved }
            if !live { throw AppError.approvalExpired }
            if !matches { throw AppError.approvalMismatch }
        }
        throw AppError.approvalNotFound
    }

    func release(_ approval: ConsumedApproval) async throws {
        try await client.query("UPDATE test_approvals SET used_at = NULL WHERE id = \(approval.id)", logger: TestDatabase.logger)
    }

    func complete(_ approval: ConsumedApproval, _ execution: ApprovedExecution) async {}

    func usedAt(_ id: String) async throws -> Date? {
        for try await used in try await client.query("SELECT used_at FROM test_approvals WHERE id = \(id)", logger: TestDatabase.logger).decode(Date?.self) {
            return used
        }
        return nil
    }
}

/// The platform's services on a fresh, migrated database, pointed at an MCP endpoint, with a table of approvals.
struct MCPHarness: Sendable {
    let services: AppServices
    let approvals: TableApprovalLedger

    var mcp: MCPToolService { services.mcp }

    static func run<Value: Sendable>(
        endpoint: String?, _ adjust: @escaping (inout AppConfig) -> Void = { _ in }, _ body: @escaping @Sendable (MCPHarness) async throws -> Value
    ) async throws -> Value {
        try await TestDatabase.withFreshDatabase { database in
            let config = testConfig(database: database) { config in
                config.mcpServerURL = endpoint
                adjust(&config)
            }
            let client = config.databaseURL.makeClient(poolSize: 2, logger: TestDatabase.logger)
            let approvals = TableApprovalLedger(client: client)
            let services = try await AppServices(config: config, logger: TestDatabase.logger, approvals: approvals)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                return try await services.withDatabase { services in
                    _ = try await services.migrate()
                    try await client.query(PostgresQuery(unsafeSQL: TableApprovalLedger.schema), logger: TestDatabase.logger)
                    return try await body(MCPHarness(services: services, approvals: approvals))
                }
            }
        }
    }

    func user(_ level: AccreditationLevel, name: String? = nil) async throws -> ToolCaller {
        let user = try await services.users.create(
            NewUser(username: name ?? "tech-\(level.rawValue.lowercased())-\(UUID().uuidString.prefix(6).lowercased())", password: "motdepasse-solide", level: level),
            actorID: nil, client: .commandLine
        )
        return ToolCaller(user)
    }

    func call(_ tool: String, _ arguments: [String: JSONValue] = [:], as caller: ToolCaller, approval: String? = nil) async throws -> ToolCallResult {
        try await mcp.call(ToolCallRequest(tool: tool, arguments: arguments, caller: caller, reason: "test : \(tool)", approvalID: approval))
    }

    func auditRows(action: String) async throws -> [AuditRecord] {
        try await services.audit.list(AuditFilter(action: action, limit: 200))
    }
}

/// The `AppError` a call threw, or nil when it did not throw one.
func appError(_ body: () async throws -> some Any) async -> AppError? {
    do {
        _ = try await body()
        return nil
    } catch let error as AppError {
        return error
    } catch {
        return AppError(.internalError, code: "unexpected", String(describing: error))
    }
}
