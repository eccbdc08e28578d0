import AsyncHTTPClient
import Foundation
import Logging
import MCP
import Synchronization

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

    /// Whether the server certainly did not run the call, so that trying again cannot run it twice: it was never
    /// received, or refused before any tool ran (credentials, unknown method or tool, invalid parameters).
    var certainlyNotRun: Bool {
        switch self {
        case .unreachable, .unauthorized: true
        case .protocolError(let code, _): [-32700, -32600, -32601, -32602].contains(code)
        case .connectionLost, .timeout, .badReply, .cancelled: false
        }
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
    private var closed = false
    /// The tool list of one session: a new session may face a new server, whose list is read again.
    private var tools: (generation: Int, list: [MCP.Tool])?
    private var toolsLoading: Task<(generation: Int, list: [MCP.Tool]), any Error>?
    /// Bumped by `tools/list_changed`, so that a list read before the notification is not kept.
    private var toolsVersion = 0

    public init(settings: Settings, httpClient: HTTPClient, logger: Logger) {
        self.settings = settings
        self.httpClient = httpClient
        self.logger = logger
    }

    /// The server's tools, from cache unless `refresh` (or a `tools/list_changed` notification, or a new session)
    /// asks for a fresh list.
    func listTools(refresh: Bool = false) async throws(MCPCallFailure) -> [MCP.Tool] {
        if !refresh, let tools, tools.generation == session?.generation { return tools.list }
        if !refresh, let toolsLoading { return try await Self.value(of: toolsLoading).list }
        let version = toolsVersion
        let loading = Task { try await self.fetchTools() }
        toolsLoading = loading
        defer { if toolsLoading == loading { toolsLoading = nil } }
        let fetched = try await Self.value(of: loading)
        if version == toolsVersion { tools = fetched }
        return fetched.list
    }

    private func fetchTools() async throws -> (generation: Int, list: [MCP.Tool]) {
        let timeout = settings.callTimeout
        return try await withSession(readOnly: true) { session in
            var all: [MCP.Tool] = []
            var cursor: String?
            var seen: Set<String> = []
            repeat {
                let request = ListTools.request(cursor.map { ListTools.Parameters(cursor: $0) } ?? ListTools.Parameters())
                let page = try await Self.awaitReply(try await session.client.send(request), client: session.client, timeout: timeout)
                all += page.tools
                // A server that keeps handing out cursors (or the same one) must not keep us paging forever.
                guard let next = page.nextCursor, !page.tools.isEmpty, seen.insert(next).inserted, all.count < 10_000 else { break }
                cursor = next
            } while true
            return (session.generation, all)
        }
    }

    /// Calls a tool within the per-call timeout; the caller's cancellation is passed on to the server. `readOnly`
    /// (a tool below L3) allows one more try on a broken connection, where the tool may or may not have run.
    func callTool(_ name: String, arguments: [String: Value], meta: Metadata?, readOnly: Bool) async throws(MCPCallFailure) -> CallTool.Result {
        let timeout = settings.callTimeout
        do {
            return try await withSession(readOnly: readOnly) { session in
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
            try await withSession(readOnly: true) { session in
                let context = try await session.client.send(Ping.request())
                _ = try await Self.awaitReply(context, client: session.client, timeout: .seconds(5))
            }
        } catch {
            throw Self.failure(error)
        }
        return clock.now - start
    }

    /// Ends the session for good (at shutdown): later calls fail as unreachable instead of opening a new one.
    public func close() async {
        closed = true
        opening?.cancel()
        if let session { await session.client.disconnect() }
        for old in retired.values { await old.client.disconnect() }
        session = nil
        retired.removeAll()
    }

    // MARK: Sessions

    /// Runs `body` on the shared session, trying again (twice at most) when that cannot run anything twice: the
    /// server no longer knows the session (restart, expiry: the request was not processed and a new session takes
    /// it), or, for a request that only reads, the connection broke (a pooled connection to a server that has just
    /// restarted). An unreachable server is not tried again here: the transport has already sent a refused request
    /// twice.
    private func withSession<Value: Sendable>(
        readOnly: Bool, attempt: Int = 1, _ body: (Session) async throws -> Value
    ) async throws -> Value {
        let session = try await currentSession()
        inFlight[session.generation, default: 0] += 1
        do {
            let value = try await body(session)
            finished(session)
            return value
        } catch {
            finished(session)
            let failure = Self.failure(error)
            let worthRetrying: Bool
            switch failure {
            case _ where Self.sessionIsGone(error):
                retire(session)
                worthRetrying = true
            case .unreachable:
                // The next request opens a new session, on whatever server then answers.
                retire(session)
                worthRetrying = false
            case .connectionLost:
                worthRetrying = readOnly
            default:
                worthRetrying = false
            }
            guard worthRetrying, attempt < 3 else { throw error }
            logger.info("MCP request retried", metadata: ["reason": "\(failure)", "attempt": "\(attempt + 1)"])
            return try await withSession(readOnly: readOnly, attempt: attempt + 1, body)
        }
    }

    private func currentSession() async throws -> Session {
        guard !closed else { throw MCPCallFailure.unreachable("client MCP arrêté") }
        if let session { return session }
        if let opening { return try await opening.value }
        generation += 1
        let next = generation
        let task = Task { try await self.open(generation: next) }
        opening = task
        defer { opening = nil }
        let opened = try await task.value
        guard !closed else {
            await opened.client.disconnect()
            throw MCPCallFailure.unreachable("client MCP arrêté")
        }
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
        // The SDK waits for the answer to `initialize` without a deadline and whatever the task's cancellation: a
        // server that accepts the connection but never answers is cut off here by closing the client.
        let connecting = Task { try await client.connect(transport: transport) }
        let deadline = Task {
            try await Task.sleep(for: settings.connectTimeout)
            await client.disconnect()
        }
        let connected = await connecting.result
        let timedOut = (try? await { deadline.cancel(); return try await deadline.value }()) != nil
        switch connected {
        case .success where !timedOut:
            logger.debug("MCP session opened", metadata: ["generation": "\(generation)"])
            return Session(generation: generation, client: client, transport: transport)
        case .success, .failure:
            await client.disconnect()
            if timedOut { throw MCPCallFailure.unreachable("pas de réponse à l'ouverture de session en \(settings.connectTimeout.frenchSeconds)") }
            if case .failure(let error) = connected { throw error }
            throw MCPCallFailure.unreachable("session fermée à l'ouverture")
        }
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

    /// The reply, or a timeout, or the caller's cancellation, whichever comes first. The SDK's pending request
    /// ignores task cancellation, so it is not awaited in a child task (which would hold the caller): it finishes
    /// on its own, and its cancellation tells the server and makes the transport drop the request's POST.
    private static func awaitReply<Output: Sendable & Decodable>(
        _ context: RequestContext<Output>, client: MCP.Client, timeout: Duration
    ) async throws -> Output {
        let outcome = FirstOutcome<Output>()
        let cancelOnServer: @Sendable (String) -> Void = { reason in
            Task { try? await client.cancelRequest(context.requestID, reason: reason) }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.wait(continuation)
                let reply = Task {
                    do { outcome.settle(.success(try await context.value)) } catch { outcome.settle(.failure(error)) }
                }
                let timer = Task {
                    try await Task.sleep(for: timeout)
                    if outcome.settle(.failure(MCPCallFailure.timeout(timeout))) { cancelOnServer("délai dépassé") }
                }
                outcome.onSettled {
                    reply.cancel()
                    timer.cancel()
                }
            }
        } onCancel: {
            if outcome.settle(.failure(CancellationError())) { cancelOnServer("annulé par l'appelant") }
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
            case .sessionExpired: return .unreachable("le serveur a refusé la nouvelle session")
            case .unauthorized: return .unauthorized
            case .httpStatus(let status, let message): return .badReply("HTTP \(status)\(message.map { " : \($0)" } ?? "")")
            case .badReply(let reason): return .badReply(reason)
            }
        case MCPError.internalError("Client disconnected"):
            // Our own side closing the session (shutdown), not the server's answer.
            return .connectionLost("session MCP fermée pendant l'appel")
        case let error as MCPError:
            return .protocolError(code: error.code, message: Self.serverDetail(error))
        case is CancellationError:
            return .cancelled
        default:
            return .badReply(String(describing: error))
        }
    }

    /// The server's own words, without the SDK's English prefix ("Invalid params: …").
    private static func serverDetail(_ error: MCPError) -> String {
        switch error {
        case .parseError(let detail), .invalidRequest(let detail), .methodNotFound(let detail), .invalidParams(let detail), .internalError(let detail):
            detail ?? "code \(error.code)"
        case .serverError(_, let message), .urlElicitationRequired(let message, _):
            message
        case .connectionClosed, .transportError:
            "code \(error.code)"
        }
    }
}

/// The first of several outcomes settles a continuation; the later ones are dropped. An outcome may come before
/// the continuation is there (a caller cancelled before waiting): it is kept until then.
final class FirstOutcome<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var result: Result<Value, any Error>?
        var settled = false
        var onSettled: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    func wait(_ continuation: CheckedContinuation<Value, any Error>) {
        let early = state.withLock { state -> Result<Value, any Error>? in
            if let result = state.result { return result }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    /// Runs `cleanup` once settled (at once if already).
    func onSettled(_ cleanup: @escaping @Sendable () -> Void) {
        let already = state.withLock { state in
            if !state.settled { state.onSettled = cleanup }
            return state.settled
        }
        if already { cleanup() }
    }

    /// Whether this outcome was the first.
    @discardableResult
    func settle(_ result: Result<Value, any Error>) -> Bool {
        let (first, continuation, cleanup) = state.withLock { state -> (Bool, CheckedContinuation<Value, any Error>?, (@Sendable () -> Void)?) in
            guard !state.settled else { return (false, nil, nil) }
            state.settled = true
            defer { state.continuation = nil; state.onSettled = nil }
            if state.continuation == nil { state.result = result }
            return (true, state.continuation, state.onSettled)
        }
        continuation?.resume(with: result)
        cleanup?()
        return first
    }
}

