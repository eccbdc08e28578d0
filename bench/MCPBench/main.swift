import AsyncHTTPClient
import WidipTestSupport
import Foundation
import Logging
import MCP
import NIOCore
import NIOHTTP1
import PostgresNIO
import Synchronization
import WidipApp

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

// MCP tool calls through the platform's client (`MCPToolService.call`: level check, shared session, counters, the
// `mcp_tool_calls` row and, from L2, the audit row) next to bare calls to the same demo server: JSON-RPC posted by
// hand on AsyncHTTPClient, and the SDK's own client with its own transport (which reads only JSON replies on Linux,
// hence a second demo server answering in JSON). Then 50 concurrent callers.
// Run with bench/run mcp (release builds, own PostgreSQL, demo servers in their own processes). Prints figures.

@main
struct MCPBench {
    static let sequentialCalls = 400
    static let warmUp = 50
    static let concurrentCallers = 50
    static let callsPerCaller = 40
    static let statusArguments: [String: JSONValue] = ["hostname": "SWITCH-CLIN-STJEAN"]
    static let accountArguments: [String: JSONValue] = ["username": "jean.dupont"]

    static func main() async throws {
        let settings = BenchSettings.fromEnvironment()
        let logger = BenchSettings.logger

        let ssePort = Int.random(in: 41000...44000)
        let jsonPort = ssePort + 1
        let sseServer = try ServerProcess(binary: settings.demoMCPBinary, arguments: ["--port", "\(ssePort)"], port: ssePort, environment: [:])
        defer { sseServer.stop() }
        let jsonServer = try ServerProcess(
            binary: settings.demoMCPBinary, arguments: ["--port", "\(jsonPort)", "--json-replies"], port: jsonPort, environment: [:]
        )
        defer { jsonServer.stop() }
        try await sseServer.waitUntilListening()
        try await jsonServer.waitUntilListening()
        let sseEndpoint = "http://127.0.0.1:\(ssePort)/mcp"
        let jsonEndpoint = "http://127.0.0.1:\(jsonPort)/mcp"

        func services(_ endpoint: String) async throws -> AppServices {
            try await AppServices(config: try settings.config(mcpServerURL: endpoint), logger: logger)
        }
        let httpClient = HTTPClient(eventLoopGroup: .singletonMultiThreadedEventLoopGroup, configuration: {
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
            return configuration
        }())

        print("Appels d'outils MCP : \(sequentialCalls) appels l'un après l'autre par voie, serveur de démonstration en release")
        print("(\(ProcessInfo.processInfo.activeProcessorCount) cœurs vus ; le serveur, PostgreSQL et le banc se partagent la machine)")

        // Streamable HTTP with SSE replies in a session: the demo server's default and most servers' answer.
        let rawSSE = try await RawMCPClient.open(endpoint: sseEndpoint, httpClient: httpClient)
        let rawStatus = try await measure { try await rawSSE.call("observium_get_device_status", statusArguments) }
        let rawAccount = try await measure { try await rawSSE.call("ad_check_user", accountArguments) }
        let (ourStatus, ourAccount, concurrent, insert, concurrentInserts) = try await services(sseEndpoint).withDatabase { services in
            _ = try await services.migrate()
            let status = try await measure { try await ourCall(services, "observium_get_device_status", statusArguments) }
            let account = try await measure { try await ourCall(services, "ad_check_user", accountArguments) }
            let ours = try await concurrently { try await ourCall(services, "observium_get_device_status", statusArguments) }
            // What recording a call costs by itself: the same row our client writes for each call, raw PostgresNIO.
            let insert = try await measure { try await recordRow(services) }
            let inserts = try await concurrently { try await recordRow(services) }
            return (status, account, ours, insert, inserts)
        }
        let rawConcurrent = try await concurrently { try await rawSSE.call("observium_get_device_status", statusArguments) }

        // Plain JSON replies without a session, where the SDK's own client transport works on Linux.
        let rawJSON = try await RawMCPClient.open(endpoint: jsonEndpoint, httpClient: httpClient)
        let rawJSONStatus = try await measure { try await rawJSON.call("observium_get_device_status", statusArguments) }
        let sdkClient = MCP.Client(name: "bench", version: "1")
        _ = try await sdkClient.connect(transport: HTTPClientTransport(endpoint: URL(string: jsonEndpoint)!, streaming: false))
        let sdkStatus = try await measure {
            let reply = try await sdkClient.callTool(name: "observium_get_device_status", arguments: ["hostname": "SWITCH-CLIN-STJEAN"])
            guard reply.isError != true else { throw BenchFailure("tool error") }
        }
        await sdkClient.disconnect()
        let ourJSONStatus = try await services(jsonEndpoint).withDatabase { services in
            try await measure { try await ourCall(services, "observium_get_device_status", statusArguments) }
        }

        print("")
        print("Réponses SSE dans une session (serveur par défaut)")
        print("  JSON-RPC à la main, L0             \(rawStatus.summary)")
        print("  notre client, L0                   \(ourStatus.summary)")
        print("  JSON-RPC à la main, L2             \(rawAccount.summary)")
        print("  notre client, L2 (audité)          \(ourAccount.summary)")
        print(String(format: "  rapport p50 / p99 notre client L0   %.2f× / %.2f×", ourStatus.percentile(0.5) / rawStatus.percentile(0.5), ourStatus.percentile(0.99) / rawStatus.percentile(0.99)))
        print(String(format: "  rapport p50 / p99 notre client L2   %.2f× / %.2f×", ourAccount.percentile(0.5) / rawAccount.percentile(0.5), ourAccount.percentile(0.99) / rawAccount.percentile(0.99)))
        print("")
        print("Réponses JSON sans session (serveur --json-replies)")
        print("  JSON-RPC à la main, L0             \(rawJSONStatus.summary)")
        print("  client du SDK (HTTPClientTransport) \(sdkStatus.summary)")
        print("  notre client, L0                   \(ourJSONStatus.summary)")
        print(String(format: "  rapport p50 notre client / SDK      %.2f×", ourJSONStatus.percentile(0.5) / sdkStatus.percentile(0.5)))
        print("")
        print("\(concurrentCallers) appelants en parallèle, \(callsPerCaller) appels chacun (L0, serveur SSE)")
        print("  JSON-RPC à la main                 \(rawConcurrent.line)")
        print("  notre client (une session)         \(concurrent.line)")
        print(String(format: "  rapport de débit notre client / main %.2f×", concurrent.callsPerSecond / rawConcurrent.callsPerSecond))
        print("")
        print("Référence PostgreSQL : la ligne mcp_tool_calls que notre client écrit à chaque appel, seule")
        print("  INSERT, l'un après l'autre         \(insert.summary)")
        print("  INSERT, \(concurrentCallers) en parallèle           \(concurrentInserts.line)")
        try await httpClient.shutdown()
    }

    static func ourCall(_ services: AppServices, _ tool: String, _ arguments: [String: JSONValue]) async throws {
        let result = try await services.mcp.call(ToolCallRequest(tool: tool, arguments: arguments, caller: .workflow("bench"), reason: "banc d'essai"))
        guard !result.isError else { throw BenchFailure("\(tool): \(result.text)") }
    }

    static func recordRow(_ services: AppServices) async throws {
        try await services.postgres.query(
            """
            INSERT INTO mcp_tool_calls (tool, level, user_id, caller, outcome, duration_ms)
            VALUES ('observium_get_device_status', 0, NULL, 'workflow:bench', 'success', 2.5)
            """,
            logger: services.logger
        )
    }

    static func measure(isolation: isolated (any Actor)? = #isolation, _ call: () async throws -> Void) async throws -> Figures {
        for _ in 0..<warmUp { try await call() }
        var figures = Figures()
        for _ in 0..<sequentialCalls { figures.add(try await timed { try await call() }.1) }
        return figures
    }

    struct Throughput {
        let figures: Figures
        let elapsed: Duration
        let failures: Int
        var callsPerSecond: Double { Double(figures.samples.count) / (elapsed.milliseconds / 1000) }
        var line: String {
            String(format: "%7.0f appels/s   p50 %7.2f ms   p99 %7.2f ms   %d échec(s)", callsPerSecond, figures.percentile(0.5), figures.percentile(0.99), failures)
        }
    }

    static func concurrently(_ call: @escaping @Sendable () async throws -> Void) async throws -> Throughput {
        for _ in 0..<warmUp { try await call() }
        let start = ContinuousClock.now
        let (figures, failures) = await withTaskGroup(of: (Figures, Int).self) { group in
            for _ in 0..<concurrentCallers {
                group.addTask {
                    var figures = Figures()
                    var failures = 0
                    for _ in 0..<callsPerCaller {
                        do { figures.add(try await timed { try await call() }.1) } catch { failures += 1 }
                    }
                    return (figures, failures)
                }
            }
            var all = Figures()
            var failures = 0
            for await (figures, failed) in group {
                all.samples += figures.samples
                failures += failed
            }
            return (all, failures)
        }
        return Throughput(figures: figures, elapsed: ContinuousClock.now - start, failures: failures)
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// MCP's streamable HTTP by hand: one `initialize`, then each call is one POST whose reply (JSON or SSE) is read
/// whole. No SDK, no session recovery: the floor any client pays for a call to this server.
struct RawMCPClient: Sendable {
    let endpoint: String
    let httpClient: HTTPClient
    let sessionID: String?
    private let ids = RequestIDs()

    static func open(endpoint: String, httpClient: HTTPClient) async throws -> RawMCPClient {
        let initialize = #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#
        let response = try await post(endpoint, initialize, sessionID: nil, httpClient: httpClient)
        let sessionID = response.headers.first(name: "Mcp-Session-Id")
        _ = try await response.body.collect(upTo: 1 << 20)
        let client = RawMCPClient(endpoint: endpoint, httpClient: httpClient, sessionID: sessionID)
        let initialized = try await post(endpoint, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, sessionID: sessionID, httpClient: httpClient)
        _ = try await initialized.body.collect(upTo: 1 << 20)
        return client
    }

    func call(_ tool: String, _ arguments: [String: JSONValue]) async throws {
        let id = ids.next()
        let body = #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":\#(JSONValue.object(arguments).jsonText)}}"#
        let response = try await Self.post(endpoint, body, sessionID: sessionID, httpClient: httpClient)
        let reply = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok, reply.readableBytesView.firstRange(of: Array(#""isError":true"#.utf8)) == nil,
            reply.readableBytesView.firstRange(of: Array(#""result""#.utf8)) != nil
        else { throw BenchFailure("\(tool): HTTP \(response.status.code) \(String(buffer: reply).prefix(200))") }
    }

    private static func post(_ endpoint: String, _ body: String, sessionID: String?, httpClient: HTTPClient) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json, text/event-stream")
        request.headers.add(name: "MCP-Protocol-Version", value: "2025-06-18")
        if let sessionID { request.headers.add(name: "Mcp-Session-Id", value: sessionID) }
        request.body = .bytes(ByteBuffer(string: body))
        return try await httpClient.execute(request, timeout: .seconds(30))
    }

    /// Request ids, unique across concurrent callers.
    final class RequestIDs: Sendable {
        private let last = Mutex(0)
        func next() -> Int {
            last.withLock {
                $0 += 1
                return $0
            }
        }
    }
}
