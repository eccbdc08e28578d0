import AsyncHTTPClient
import Foundation
import Logging
import MCP

/// Why a tool call failed on the MCP side, before any product rule maps it to an `AppError`.
enum MCPCallFailure: Error, Sendable {
    case unreachable(String)
    /// The connection broke mid-call: the tool may have run.
    case connectionLost(String)
    case timeout(Duration)
    case unauthorized
    /// The server answered with a JSON-RPC error (unknown tool, invalid parameters, internal error).
    case protocolError(code: Int, message: String)
    case badReply(String)
    case cancelled

    /// Whether the server certainly did not run the call, so that trying again cannot run it twice.
    var provablyNotDelivered: Bool {
        if case .unreachable = self { return true }
        return false
    }
}

/// One MCP session with the server, shared by every caller: connects on first use, keeps the tool list, and starts
/// a new session when the server restarts or expires ours. Calls on a session that dies are retried once on the new
/// one only when the server provably never received them.
public actor MCPConnection {
    public struct Settings: Sendable {
        public var endpoint: String
        public var apiKey: String?
        public var callTimeout: Duration
        public var connectTimeout: Duration

        public init(endpoint: String, apiKey: String?, callTimeout: Duration = .seconds(30), connectTimeout: Duration = .seconds(5)) {
            self.endpoint = endpoint
            self.apiKey = apiKey
            self.callTimeout = callTimeout
            self.connectTimeout = connectTimeout
        }
    }

    private struct Session {
        let generation: Int
        let client: MCP.Client
        let transport: StreamableHTTPClientTransport
    }

    public nonisolated let settings: Settings
    private let httpClient: HTTPClient
    private let logger: Logger
    private var session: Session?
    private var opening: Task<Session, any Error>?
    private var generation = 0
    private var inFlight: [Int: Int] = [:]
    private var retired: [Int: Session] = [:]
    private var tools: [MCP.Tool]?
    private var toolsLoading: Task<[MCP.Tool], any Error>?
    private var toolsVersion = 0

    public init(settings: Settings, httpClient: HTTPClient, logger: Logger) {
        self.settings = settings
        self.httpClient = httpClient
        self.logger = logger
    }

    /// The server's tools, from cache unless `refresh` (or a `tools/list_changed` notification, or a new session)
    /// asks for a fresh list.
    func listTools(refresh: Bool = false) async throws(MCPCallFailure) -> [MCP.Tool] {
        if !refresh, let tools { return tools }
        if let toolsLoading { return try await Self.value(of: toolsLoading) }
        let version = toolsVersion
        let loading = Task { try await self.fetchTools() }
        toolsLoading = loading
        defer { toolsLoading = nil }
        let fetched = try await Self.value(of: loading)
        if version == toolsVersion { tools = fetched }
        return fetched
    }

    private func fetchTools() async throws -> [MCP.Tool] {
        try await withSession(retrying: true) { session in
            var all: [MCP.Tool] = []
            var cursor: String?
            repeat {
                let page = try await session.client.listTools(cursor: cursor)
                all += page.tools
                cursor = page.nextCursor
            } while cursor != nil && all.count < 10_000
            return all
        }
    }

    /// Calls a tool with the per-call timeout; the caller's cancellation is passed on to the server.
    func callTool(_ name: String, arguments: [String: Value], meta: Metadata?, timeout: Duration? = nil) async throws(MCPCallFailure) -> CallTool.Result {
        let timeout = timeout ?? settings.callTimeout
        do {
            return try await withSession(retrying: true) { session in
                let context = try await session.client.send(CallTool.request(.init(name: name, arguments: arguments, meta: meta)))
                return try await Self.awaitReply(context, client: session.client, timeout: timeout)
            }
        } catch {
            throw Self.failure(error)
        }
    }

    /// Round trip of an MCP `ping`, for the server's state on the tools page.
    func ping() async throws(MCPCallFailure) -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try await withSession(retrying: true) { session in
                let context = try await session.client.send(Ping.request())
                _ = try await Self.awaitReply(context, client: session.client, timeout: .seconds(5))
            }
        } catch {
            throw Self.failure(error)
        }
        return clock.now - start
    }

    /// Ends the session (at shutdown).
    public func close() async {
        opening?.cancel()
        if let session { await session.client.disconnect() }
        for old in retired.values { await old.client.disconnect() }
        session = nil
        retired.removeAll()
    }

    // MARK: Sessions

    private func withSession<Value: Sendable>(retrying: Bool, _ body: (Session) async throws -> Value) async throws -> Value {
        let session = try await currentSession()
        inFlight[session.generation, default: 0] += 1
        do {
            let value = try await body(session)
            finished(session)
            return value
        } catch {
            finished(session)
            // Only a session the server no longer knows is worth one more try: the request was not processed and a
            // new session will take it. An unreachable server stays unreachable a millisecond later.
            guard Self.sessionIsGone(error) else {
                if Self.failure(error).provablyNotDelivered { retire(session) }
                throw error
            }
            retire(session)
            guard retrying else { throw error }
            logger.info("MCP session expired or server restarted; opening a new session")
            return try await withSession(retrying: false, body)
        }
    }

    private func currentSession() async throws -> Session {
        if let session { return session }
        if let opening { return try await opening.value }
        generation += 1
        let next = generation
        let task = Task { try await self.open(generation: next) }
        opening = task
        defer { opening = nil }
        let opened = try await task.value
        session = opened
        return opened
    }

    private func open(generation: Int) async throws -> Session {
        let transport = StreamableHTTPClientTransport(
            endpoint: settings.endpoint, httpClient: httpClient, apiKey: settings.apiKey, requestTimeout: settings.callTimeout + .seconds(5),
            logger: logger
        )
        let client = MCP.Client(name: "widip-platform", version: "2.0", title: "Plateforme WIDIP")
        await client.onNotification(ToolListChangedNotification.self) { [weak self] _ in await self?.forgetTools() }
        // The transport's own deadline bounds a server that accepts the connection but never answers.
        do {
            _ = try await client.connect(transport: transport)
        } catch {
            await client.disconnect()
            throw error
        }
        // A new session may face a new server: its tools are read again on next use.
        forgetTools()
        logger.debug("MCP session opened", metadata: ["generation": "\(generation)"])
        return Session(generation: generation, client: client, transport: transport)
    }

    private func forgetTools() {
        toolsVersion += 1
        tools = nil
    }

    private func retire(_ old: Session) {
        guard session?.generation == old.generation else { return }
        session = nil
        retired[old.generation] = old
        disconnectIfIdle(old.generation)
    }

    private func finished(_ session: Session) {
        inFlight[session.generation, default: 1] -= 1
        disconnectIfIdle(session.generation)
    }

    /// A retired session is closed once its last call has returned, so calls still running on it are not cut off.
    private func disconnectIfIdle(_ generation: Int) {
        guard (inFlight[generation] ?? 0) <= 0, let old = retired.removeValue(forKey: generation) else { return }
        inFlight[generation] = nil
        Task { await old.client.disconnect() }
    }

    // MARK: Replies and failures

    private static func awaitReply<Output: Sendable & Decodable>(
        _ context: RequestContext<Output>, client: MCP.Client, timeout: Duration
    ) async throws -> Output {
        // The SDK's pending request ignores task cancellation; only `cancelRequest` releases it. Every way out of
        // the group below goes through it, or the group would wait for a reply that may never come.
        try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Output?.self) { group in
                group.addTask { try await context.value }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                if let first = try await group.next(), let reply = first {
                    group.cancelAll()
                    return reply
                }
                try? await client.cancelRequest(context.requestID, reason: "délai dépassé")
                group.cancelAll()
                throw MCPCallFailure.timeout(timeout)
            }
        } onCancel: {
            Task { try? await client.cancelRequest(context.requestID, reason: "annulé par l'appelant") }
        }
    }

    private static func value<Value: Sendable>(of task: Task<Value, any Error>) async throws(MCPCallFailure) -> Value {
        do { return try await task.value } catch { throw failure(error) }
    }

    private static func sessionIsGone(_ error: any Error) -> Bool {
        if case .sessionExpired = error as? MCPTransportFailure { return true }
        return false
    }

    static func failure(_ error: any Error) -> MCPCallFailure {
        switch error {
        case let failure as MCPCallFailure:
            return failure
        case let failure as MCPTransportFailure:
            switch failure {
            case .unreachable(let reason): return .unreachable(reason)
            case .connectionLost(let reason): return .connectionLost(reason)
            case .sessionExpired: return .unreachable("session expirée deux fois de suite")
            case .unauthorized: return .unauthorized
            case .httpStatus(let status, let message): return .badReply("HTTP \(status)\(message.map { " : \($0)" } ?? "")")
            case .badReply(let reason): return .badReply(reason)
            }
        case let error as MCPError:
            return .protocolError(code: error.code, message: error.errorDescription ?? "\(error)")
        case is CancellationError:
            return .cancelled
        default:
            return .badReply(String(describing: error))
        }
    }
}
