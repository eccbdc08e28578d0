import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MCP

/// WIDIP's tools over real MCP (streamable HTTP at `/mcp`), backed by the demo estate. Stands in for the Phase 1
/// server so the product runs and is tested end to end.
public struct DemoMCPServer: Sendable {
    public struct Options: Sendable {
        public var host: String
        public var port: Int
        /// When set, every request must carry `Authorization: Bearer <apiKey>`.
        public var apiKey: String?
        /// Host headers accepted besides localhost (DNS-rebinding protection), e.g. `mcp.widip.local:3001`.
        public var allowedHosts: [String]
        /// A session unused for this long is forgotten; its client must initialise a new one.
        public var sessionIdleTimeout: Duration
        public var maxSessions: Int
        /// Tools that answer only after this delay (for timeouts in tests and demos of a slow back end).
        public var toolDelays: [String: Duration]
        /// Plain JSON answers and no sessions (a stateless server), instead of SSE streams within a session.
        public var jsonReplies: Bool

        public init(
            host: String = "127.0.0.1", port: Int = 3001, apiKey: String? = nil, allowedHosts: [String] = [],
            sessionIdleTimeout: Duration = .seconds(1800), maxSessions: Int = 1000, toolDelays: [String: Duration] = [:],
            jsonReplies: Bool = false
        ) {
            self.host = host
            self.port = port
            self.apiKey = apiKey
            self.allowedHosts = allowedHosts
            self.sessionIdleTimeout = sessionIdleTimeout
            self.maxSessions = maxSessions
            self.toolDelays = toolDelays
            self.jsonReplies = jsonReplies
        }
    }

    public static let approvalMetaKey = "fr.widip/approval_id"

    let options: Options
    let logger: Logger
    private let sessions: DemoSessions

    public init(options: Options, logger: Logger = Logger(label: "widip-demo-mcp")) {
        self.options = options
        self.logger = logger
        sessions = DemoSessions(options: options, estate: DemoEstate(), logger: logger)
    }

    /// Open MCP sessions (one per connected client).
    public func sessionCount() async -> Int {
        await sessions.count
    }

    /// The HTTP server; `onServerRunning` receives the bound port (useful with port 0).
    public func makeApplication(onServerRunning: (@Sendable (Int) async -> Void)? = nil) -> some ApplicationProtocol {
        let sessions = sessions
        let router = Router()
        let apiKey = options.apiKey
        let endpoint: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            if let apiKey, !Self.authorized(request, apiKey: apiKey) {
                return Response(
                    status: .unauthorized,
                    headers: [.contentType: "application/json", .wwwAuthenticate: "Bearer"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Clé d'API MCP absente ou invalide."}}"#))
                )
            }
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers {
                let name = field.name.canonicalName
                headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
            }
            // HTTP/1's Host header arrives as the authority; the transport's origin check reads `Host`.
            if let authority = request.head.authority { headers["Host"] = authority }
            let mcpRequest = MCP.HTTPRequest(
                method: request.method.rawValue, headers: headers, body: body.readableBytes > 0 ? Data(buffer: body) : nil, path: request.uri.path
            )
            return Self.response(await sessions.handle(mcpRequest))
        }
        router.post("/mcp", use: endpoint)
        router.get("/mcp", use: endpoint)
        router.delete("/mcp", use: endpoint)
        router.get("/health") { _, _ in "ok" }
        return Application(
            router: router,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "widip-demo-mcp"),
            services: [sessions],
            onServerRunning: { channel in await onServerRunning?(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    private static func authorized(_ request: Request, apiKey: String) -> Bool {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return false }
        let presented = Array(header.dropFirst(7).utf8), expected = Array(apiKey.utf8)
        guard presented.count == expected.count else { return false }
        return zip(presented, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private static func response(_ response: MCP.HTTPResponse) -> Response {
        var headers = HTTPFields()
        for (name, value) in response.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let status = HTTPResponse.Status(code: response.statusCode)
        if case .stream(let stream, _) = response {
            return Response(status: status, headers: headers, body: ResponseBody { writer in
                for try await chunk in stream { try await writer.write(ByteBuffer(bytes: chunk)) }
                try await writer.finish(nil)
            })
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: response.bodyData ?? Data())))
    }
}
