import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization
import WidipApp
import WidipTestSupport

// SAFEGUARD under load: 500 WebSocket clients on one `widip serve` (release) with the demo MCP server behind it;
// a workflow POSTs requests at 10/s and each client's arrival is timed from the moment the POST left (validation
// against the MCP server, impact preview, insert, event, delivery: the whole way in); then decisions under contention,
// 10 concurrent approve calls per request. Next to a raw pg_notify round trip on the same database.
// Run with bench/run safeguard. Prints figures; asserts nothing.

let clientCount = Int(ProcessInfo.processInfo.environment["BENCH_CLIENTS"] ?? "") ?? 500
let requestCount = 100
let contenders = 10
let workflowToken = "bench-support-0123456789abcdef-0123456789"

/// Every client's arrivals: per request sequence, how many clients saw its creation, and the latencies.
final class Arrivals: Sendable {
    let sentAt = Mutex<[ContinuousClock.Instant?]>(Array(repeating: nil, count: requestCount))
    let counts = Mutex<[Int]>(Array(repeating: 0, count: requestCount))
    let latencies = Mutex<[Duration]>([])
    let subscribed = Mutex(0)

    func record(_ sequence: Int) {
        let now = ContinuousClock.now
        guard sequence < requestCount, let sent = sentAt.withLock({ $0[sequence] }) else { return }
        counts.withLock { $0[sequence] += 1 }
        latencies.withLock { $0.append(now - sent) }
    }
}

/// The request's sequence from `"ticket_title": "bench-12"` in a `safeguard:new_request` envelope (with or without
/// the space jsonb puts after the colon).
func sequence(in text: String) -> Int? {
    guard text.contains(#""safeguard:new_request""#), let title = text.range(of: #""ticket_title""#),
        let range = text.range(of: "bench-", range: title.upperBound..<text.endIndex)
    else { return nil }
    return Int(text[range.upperBound...].prefix(while: \.isNumber))
}

@main
struct SafeguardBench {
    static func main() async throws {
        let settings = BenchSettings.fromEnvironment()
        let logger = BenchSettings.logger
        let mcpPort = Int.random(in: 48000...48900)
        let demo = try ServerProcess(binary: settings.demoMCPBinary, arguments: ["--port", "\(mcpPort)"], port: mcpPort, environment: [:])
        defer { demo.stop() }
        try await demo.waitUntilListening()
        let config = try settings.config(mcpServerURL: "http://127.0.0.1:\(mcpPort)/mcp")
        let services = try await AppServices(config: config, logger: logger)
        let http = HTTPClient(eventLoopGroup: .singletonMultiThreadedEventLoopGroup)
        defer { Task { try? await http.shutdown() } }

        try await services.withDatabase { services in
            _ = try await services.migrate()
            var tokens: [String] = []
            for index in 0..<5 {
                let name = "bench-sg-\(index)"
                if try await services.users.list(search: name).isEmpty {
                    _ = try await services.users.create(NewUser(username: name, password: "mot-de-passe-bench", level: .n3), actorID: nil, client: .commandLine)
                }
                tokens.append(try await services.auth.login(username: name, password: "mot-de-passe-bench", client: .commandLine).token)
            }
            let notifyFigures = try await rawNotifyRoundTrip(database: config.databaseURL, logger: logger)

            let port = Int.random(in: 47100...47900)
            let server = try ServerProcess(
                binary: settings.widipBinary, port: port,
                environment: settings.serverEnvironment().merging([
                    "MCP_SERVER_URL": "http://127.0.0.1:\(mcpPort)/mcp", "WORKFLOW_TOKENS": "SUPPORT=\(workflowToken)",
                ]) { _, new in new }
            )
            defer { server.stop() }
            try await server.waitUntilListening()
            try await Task.sleep(for: .seconds(1))

            let arrivals = Arrivals()
            var clients: [Task<Void, Never>] = []
            print("Connexion de \(clientCount) clients WebSocket…")
            for index in 0..<clientCount {
                clients.append(Task { [arrivals, token = tokens[index % tokens.count]] in
                    var headers = HTTPFields()
                    headers[.authorization] = "Bearer \(token)"
                    var quiet = Logger(label: "client")
                    quiet.logLevel = .critical
                    _ = try? await WebSocketClient.connect(
                        url: "ws://127.0.0.1:\(port)/api/safeguard/ws", configuration: .init(additionalHeaders: headers), logger: quiet
                    ) { inbound, outbound, _ in
                        try await outbound.write(.text(#"{"subscribe":["safeguard"],"resume_from":null}"#))
                        var subscribed = false
                        for try await message in inbound.messages(maxSize: 1 << 16) {
                            guard case .text(let text) = message else { continue }
                            if let sequence = sequence(in: text) {
                                arrivals.record(sequence)
                            } else if !subscribed, text.contains(#""type":"subscribed""#) {
                                subscribed = true
                                arrivals.subscribed.withLock { $0 += 1 }
                            }
                        }
                    }
                })
                if index % 50 == 49 { try await Task.sleep(for: .milliseconds(20)) }
            }
            let connectDeadline = ContinuousClock.now + .seconds(60)
            while arrivals.subscribed.withLock({ $0 }) < clientCount, ContinuousClock.now < connectDeadline { try await Task.sleep(for: .milliseconds(100)) }
            let connected = arrivals.subscribed.withLock { $0 }

            // Ingest: 10 requests/s from a workflow.
            var ingest = Figures()
            var ids: [String] = []
            let start = ContinuousClock.now
            for sequence in 0..<requestCount {
                try await Task.sleep(until: start + .milliseconds(100 * sequence))
                let body: [String: Any] = [
                    "tool_name": "ad_reset_password", "arguments": ["username": "jean.dupont"],
                    "context": ["ticket_id": 1234, "ticket_title": "bench-\(sequence)", "client_name": "EHPAD Les Jardins", "workflow": "SUPPORT"],
                    "idempotency_key": UUID().uuidString,
                ]
                arrivals.sentAt.withLock { $0[sequence] = ContinuousClock.now }
                let (response, elapsed) = try await timed { try await post(http, port: port, path: "/api/safeguard/requests", json: body, token: workflowToken) }
                ingest.add(elapsed)
                if let id = response.json?["approval_id"] as? String { ids.append(id) }
            }
            let deliveryDeadline = ContinuousClock.now + .seconds(30)
            while arrivals.counts.withLock({ $0.contains { $0 < connected } }), ContinuousClock.now < deliveryDeadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            var delivered = Figures()
            delivered.samples = arrivals.latencies.withLock { $0 }
            let missing = arrivals.counts.withLock { $0.reduce(0) { $0 + max(0, connected - $1) } }

            // Decisions under contention: 10 approve calls at once on each request, from 5 people.
            var decided = 0
            var conflicts = 0
            let contention = ContinuousClock.now
            let deciders = tokens
            for id in ids.prefix(50) {
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<contenders {
                        let token = deciders[index % deciders.count]
                        group.addTask { try await post(http, port: port, path: "/api/safeguard/\(id)/approve", json: nil, token: token).status }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                decided += statuses.filter { $0 == 200 }.count
                conflicts += statuses.filter { $0 == 409 }.count
            }
            let contentionTime = ContinuousClock.now - contention
            let calls = Double(min(50, ids.count) * contenders)

            print("")
            print("SAFEGUARD : \(connected)/\(clientCount) clients abonnés, 1 instance widip (release), serveur MCP de démonstration, \(ProcessInfo.processInfo.activeProcessorCount) cœurs vus")
            print("  pg_notify brut, aller-retour                 \(notifyFigures.summary)")
            print("  POST /api/safeguard/requests (réponse)       \(ingest.summary)")
            print("  POST envoyé → client WebSocket, 10 dem./s    \(delivered.summary)")
            print(String(format: "  p99 de bout en bout / p99 pg_notify          %.1f", delivered.percentile(0.99) / notifyFigures.percentile(0.99)))
            print("  manquants : \(missing)")
            print(
                String(
                    format: "  décisions concurrentes : %d demandes × %d appels en %.2f s : %.0f appels/s, %.0f décisions/s (%d acceptées, %d refusées 409)",
                    min(50, ids.count), contenders, contentionTime.milliseconds / 1000, calls / (contentionTime.milliseconds / 1000),
                    Double(decided) / (contentionTime.milliseconds / 1000), decided, conflicts
                )
            )
            clients.forEach { $0.cancel() }
        }
    }

    struct Answer {
        let status: Int
        let json: [String: Any]?
    }

    static func post(_ http: HTTPClient, port: Int, path: String, json: [String: Any]?, token: String) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), json: try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])
    }
}
