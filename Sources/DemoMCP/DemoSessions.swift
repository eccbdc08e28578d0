import Foundation
import Logging
import MCP
import ServiceLifecycle

/// One MCP server and stateful transport per client session, keyed by `Mcp-Session-Id`, answering in SSE. Idle
/// sessions are forgotten after the configured time; the oldest idle one makes room when the table is full. With
/// `jsonReplies`, no sessions: each POST gets a fresh stateless server and a plain JSON answer, as some servers do.
actor DemoSessions: Service {
    private struct Session {
        let server: MCP.Server
        let transport: StatefulHTTPServerTransport
        var lastUsed: ContinuousClock.Instant
    }

    private let options: DemoMCPServer.Options
    private let estate: DemoEstate
    private let logger: Logger
    private let validation: any HTTPRequestValidationPipeline
    private let statelessValidation: any HTTPRequestValidationPipeline
    private var sessions: [String: Session] = [:]

    init(options: DemoMCPServer.Options, estate: DemoEstate, logger: Logger) {
        self.options = options
        self.estate = estate
        self.logger = logger
        let local = OriginValidator.localhost()
        let origin = OriginValidator(allowedHosts: local.allowedHosts + options.allowedHosts, allowedOrigins: local.allowedOrigins)
        validation = StandardValidationPipeline(validators: [
            origin, AcceptHeaderValidator(mode: .sseRequired), ContentTypeValidator(), ProtocolVersionValidator(), SessionValidator(),
        ])
        statelessValidation = StandardValidationPipeline(validators: [
            origin, AcceptHeaderValidator(mode: .jsonOnly), ContentTypeValidator(), ProtocolVersionValidator(),
        ])
    }

    func run() async throws {
        let sweepInterval = min(options.sessionIdleTimeout / 2, .seconds(30))
        while (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: sweepInterval) })) != nil {
            await forgetIdleSessions()
        }
        for session in sessions.values { await session.transport.disconnect() }
        sessions.removeAll()
    }

    var count: Int { sessions.count }

    func handle(_ request: MCP.HTTPRequest) async -> MCP.HTTPResponse {
        if options.jsonReplies { return await answerStateless(request) }
        let sessionID = request.header(HTTPHeaderName.sessionID)
        if let sessionID, var session = sessions[sessionID] {
            if ContinuousClock.now - session.lastUsed > options.sessionIdleTimeout {
                await forget(sessionID)
                return .error(statusCode: 404, .invalidRequest("Session MCP expirée : initialisez une nouvelle session."))
            }
            session.lastUsed = .now
            sessions[sessionID] = session
            let response = await session.transport.handleRequest(request)
            if request.method.uppercased() == "DELETE", response.statusCode == 200 { sessions[sessionID] = nil }
            return response
        }
        if request.method.uppercased() == "POST", let body = request.body, Self.isInitialize(body) {
            return await open(request)
        }
        if sessionID != nil {
            return .error(statusCode: 404, .invalidRequest("Session MCP inconnue ou expirée : initialisez une nouvelle session."))
        }
        return .error(statusCode: 400, .invalidRequest("En-tête Mcp-Session-Id manquant : commencez par une requête initialize."))
    }

    private static func isInitialize(_ body: Data) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return false }
        return object["method"] as? String == "initialize" && object["id"] != nil
    }

    private func open(_ request: MCP.HTTPRequest) async -> MCP.HTTPResponse {
        if sessions.count >= options.maxSessions, let oldest = sessions.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
            await forget(oldest)
        }
        let sessionID = UUID().uuidString
        let transport = StatefulHTTPServerTransport(sessionIDGenerator: FixedSessionID(value: sessionID), validationPipeline: validation)
        let server = await makeServer(listChanged: true)
        do {
            try await server.start(transport: transport)
        } catch {
            logger.error("MCP session could not start", metadata: ["error": "\(error)"])
            return .error(statusCode: 500, .internalError("La session MCP n'a pas pu démarrer."))
        }
        let response = await transport.handleRequest(request)
        if case .error = response {
            await transport.disconnect()
        } else {
            sessions[sessionID] = Session(server: server, transport: transport, lastUsed: .now)
        }
        return response
    }

    /// The SDK's server is lenient by default: a `tools/call` is answered without an `initialize` first, which is
    /// what a stateless server must do since every request reaches a new one.
    private func answerStateless(_ request: MCP.HTTPRequest) async -> MCP.HTTPResponse {
        let transport = StatelessHTTPServerTransport(validationPipeline: statelessValidation, logger: logger)
        let server = await makeServer(listChanged: false)
        do {
            try await server.start(transport: transport)
        } catch {
            logger.error("MCP server could not start", metadata: ["error": "\(error)"])
            return .error(statusCode: 500, .internalError("Le serveur MCP n'a pas pu démarrer."))
        }
        let response = await transport.handleRequest(request)
        await server.stop()
        return response
    }

    private func makeServer(listChanged: Bool) async -> MCP.Server {
        let server = MCP.Server(
            name: "widip-demo-mcp", version: "1.0.0", title: "Serveur MCP de démonstration WIDIP",
            capabilities: .init(tools: .init(listChanged: listChanged))
        )
        let estate = estate
        let delays = options.toolDelays
        await server.withMethodHandler(ListTools.self) { _ in ListTools.Result(tools: DemoTools.all) }
        await server.withMethodHandler(CallTool.self) { parameters in
            guard DemoTools.names.contains(parameters.name) else {
                throw MCPError.invalidParams("Outil inconnu : « \(parameters.name) ». Outils disponibles : \(DemoTools.names.joined(separator: ", ")).")
            }
            if let delay = delays[parameters.name] { try await Task.sleep(for: delay) }
            let approvalID = parameters._meta?[DemoMCPServer.approvalMetaKey]?.stringValue
            return await estate.call(parameters.name, arguments: parameters.arguments, approvalID: approvalID)
        }
        return server
    }

    private func forgetIdleSessions() async {
        let now = ContinuousClock.now
        for (id, session) in sessions where now - session.lastUsed > options.sessionIdleTimeout { await forget(id) }
    }

    private func forget(_ sessionID: String) async {
        guard let session = sessions.removeValue(forKey: sessionID) else { return }
        await session.server.stop()
        await session.transport.disconnect()
    }

    private struct FixedSessionID: SessionIDGenerator {
        let value: String
        func generateSessionID() -> String { value }
    }
}
