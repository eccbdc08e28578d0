import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
import WidipApp
import WidipTestSupport

// WIBOT's streaming path, `widip serve` (release) between clients and a model server, next to the same clients
// calling that model server directly. The model server is a peer of our own that speaks OpenAI's streaming chat
// completions over a real socket and answers at a chosen pace (`bench:TOKENS:MILLISECONDS` as the question).
// 1. Time to first token, one request after another: what the backend adds (auth, rate limit, quota reservation under
//    the user's row lock, the question and the answer's row saved before the model is called, the provider's queue).
// 2. 200 concurrent streams paced like a hosted model (50 tokens/s each): tokens per second reaching the clients, and
//    the backend's CPU per streamed token.
// 3. The same 200 streams unpaced (the model as fast as the socket): the backend's CPU per token under saturation.
// Run with bench/run chat. Prints figures; asserts nothing.

let environment = ProcessInfo.processInfo.environment
let sequentialRequests = Int(environment["BENCH_CHAT_REQUESTS"] ?? "") ?? 300
let warmUp = 30
let streamCount = Int(environment["BENCH_CHAT_STREAMS"] ?? "") ?? 200
let tokensPerStream = 200
let pacedMilliseconds = 20
let userCount = 10
let tokenText = "tok "

@main
struct ChatBench {
    static func main() async throws {
        let settings = BenchSettings.fromEnvironment()
        let logger = BenchSettings.logger
        let peerPort = TestPorts.reserve()
        let peer = Task { try await modelPeer(port: peerPort).runService() }
        defer { peer.cancel() }
        try await waitForPort(peerPort)

        let config = try settings.config()
        let services = try await AppServices(config: config, logger: logger)
        let tokens = try await services.withDatabase { services in
            _ = try await services.migrate()
            var tokens: [String] = []
            for index in 0..<userCount {
                let name = "bench-chat-\(index)"
                if try await services.users.list(search: name).isEmpty {
                    _ = try await services.users.create(
                        NewUser(username: name, password: "mot-de-passe-bench", level: .n1, tokenQuota: UserRules.maximumTokenQuota), actorID: nil,
                        client: .commandLine
                    )
                }
                tokens.append(try await services.auth.login(username: name, password: "mot-de-passe-bench", client: .commandLine).token)
            }
            return tokens
        }

        let port = TestPorts.reserve()
        let server = try ServerProcess(
            binary: settings.widipBinary, port: port,
            environment: settings.serverEnvironment().merging([
                "OPENAI_BASE_URL": "http://127.0.0.1:\(peerPort)/v1", "OPENAI_MODEL": "bench", "OPENAI_MAX_CONCURRENT": "1000",
                "CHAT_MESSAGES_PER_MINUTE": "10000", "DATABASE_POOL_SIZE": "40",
            ]) { _, new in new }
        )
        defer { server.stop() }
        try await server.waitUntilListening()

        let http = HTTPClient(
            eventLoopGroup: .singletonMultiThreadedEventLoopGroup,
            configuration: {
                var configuration = HTTPClient.Configuration()
                configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = streamCount + 8
                configuration.timeout.read = .seconds(120)
                return configuration
            }()
        )
        let direct = Target.direct(port: peerPort)
        let widip = Target.widip(port: port, tokens: tokens)

        print("WIBOT : flux de réponse par `widip serve` (release) ou directement au serveur de modèle (pair OpenAI du banc)")
        print("(\(ProcessInfo.processInfo.activeProcessorCount) cœurs vus ; serveur, pair, clients et PostgreSQL se partagent la machine)")
        print("")

        print("1. Premier jeton, \(sequentialRequests) demandes l'une après l'autre (réponse d'un jeton, sans attente)")
        for index in 0..<warmUp {
            _ = try await stream(direct, client: http, tokens: 1, pace: 0, user: index)
            _ = try await stream(widip, client: http, tokens: 1, pace: 0, user: index)
        }
        // Alternated, so that a slower moment of the machine weighs on both sides alike.
        var directFirst = Figures()
        var widipFirst = Figures()
        for index in 0..<sequentialRequests {
            directFirst.add(try await stream(direct, client: http, tokens: 1, pace: 0, user: index).firstToken)
            widipFirst.add(try await stream(widip, client: http, tokens: 1, pace: 0, user: index).firstToken)
        }
        print("  direct au pair                     \(directFirst.summary)")
        print("  par widip                          \(widipFirst.summary)")
        print(
            String(
                format: "  ajouté par widip p50 / p99         %.2f ms / %.2f ms   (objectif p50 ≤ 2 ms)",
                widipFirst.percentile(0.5) - directFirst.percentile(0.5), widipFirst.percentile(0.99) - directFirst.percentile(0.99)
            )
        )
        print("")

        for (title, pace) in [("2. \(streamCount) flux en parallèle, \(tokensPerStream) jetons à \(1000 / pacedMilliseconds) jetons/s chacun", pacedMilliseconds), ("3. \(streamCount) flux en parallèle, \(tokensPerStream) jetons sans attente", 0)] {
            print(title)
            let directRun = try await concurrentStreams(direct, client: http, pace: pace, server: nil)
            let widipRun = try await concurrentStreams(widip, client: http, pace: pace, server: server)
            print("  direct au pair                     \(directRun.line)")
            print("  par widip                          \(widipRun.line)")
            print("  premier jeton, direct              \(directRun.firstTokens.summary)")
            print("  premier jeton, par widip           \(widipRun.firstTokens.summary)")
            print(
                String(
                    format: "  débit widip / direct               %.3f×   (objectif ≥ 0,95×)", widipRun.tokensPerSecond / directRun.tokensPerSecond
                )
            )
            print(
                String(
                    format: "  CPU de widip par jeton             %.1f µs   (objectif ≤ 50 µs ; %.2f s CPU pour %d jetons)",
                    widipRun.serverCPU / Double(widipRun.tokens) * 1e6, widipRun.serverCPU, widipRun.tokens
                )
            )
            print("")
        }
        try await http.shutdown()
    }

    // MARK: Clients

    enum Target: Sendable {
        case direct(port: Int)
        case widip(port: Int, tokens: [String])

        func request(tokens: Int, pace: Int, user: Int) -> HTTPClientRequest {
            let question = "bench:\(tokens):\(pace)"
            switch self {
            case .direct(let port):
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(
                    ByteBuffer(
                        string: #"{"model":"bench","stream":true,"stream_options":{"include_usage":true},"max_tokens":1024,"messages":[{"role":"user","content":""#
                            + question + #""}]}"#
                    )
                )
                return request
            case .widip(let port, let tokens):
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/chat/message")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.headers.add(name: "Authorization", value: "Bearer \(tokens[user % tokens.count])")
                request.body = .bytes(ByteBuffer(string: #"{"mode":"flash","content":""# + question + #""}"#))
                return request
            }
        }
    }

    struct StreamResult {
        let firstToken: Duration
        let tokens: Int
    }

    /// One answer read to its end: when its first token arrived, and how many tokens came (counted in the text, so
    /// that pieces merged on the way count as what they carry).
    static func stream(_ target: Target, client: HTTPClient, tokens: Int, pace: Int, user: Int) async throws -> StreamResult {
        let start = ContinuousClock.now
        let response = try await client.execute(target.request(tokens: tokens, pace: pace, user: user), timeout: .seconds(120))
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 1 << 16)
            throw BenchFailure("HTTP \(response.status.code) \(String(buffer: body).prefix(200))")
        }
        var counter = TokenCounter()
        var first: Duration?
        for try await buffer in response.body {
            counter.scan(buffer)
            if first == nil, counter.count > 0 { first = ContinuousClock.now - start }
        }
        guard let first, counter.count == tokens else { throw BenchFailure("\(counter.count) jetons reçus sur \(tokens) \(counter.tail)") }
        return StreamResult(firstToken: first, tokens: counter.count)
    }

    struct ConcurrentRun {
        let tokens: Int
        let elapsed: Duration
        let serverCPU: Double
        let failures: Int
        /// When each stream's first token came, counted from the burst's start.
        let firstTokens: Figures
        var tokensPerSecond: Double { Double(tokens) / (elapsed.milliseconds / 1000) }
        var line: String {
            String(format: "%6.0f jetons/s  (%d jetons en %.2f s, %d échecs)", tokensPerSecond, tokens, elapsed.milliseconds / 1000, failures)
        }
    }

    static func concurrentStreams(_ target: Target, client: HTTPClient, pace: Int, server: ServerProcess?) async throws -> ConcurrentRun {
        let cpuBefore = server?.cpuSeconds ?? 0
        let start = ContinuousClock.now
        let reasons = Reasons()
        let results = await withTaskGroup(of: StreamResult?.self) { group in
            for index in 0..<streamCount {
                group.addTask {
                    do {
                        return try await stream(target, client: client, tokens: tokensPerStream, pace: pace, user: index)
                    } catch {
                        reasons.counts.withLock { $0["\(error)", default: 0] += 1 }
                        return nil
                    }
                }
            }
            var results: [StreamResult?] = []
            for await result in group { results.append(result) }
            return results
        }
        for (reason, count) in reasons.counts.withLock({ $0 }) { print("  échec ×\(count) : \(reason)") }
        let elapsed = ContinuousClock.now - start
        let cpu = (server?.cpuSeconds ?? 0) - cpuBefore
        var firstTokens = Figures()
        for result in results.compactMap({ $0 }) { firstTokens.add(result.firstToken) }
        return ConcurrentRun(
            tokens: results.compactMap { $0?.tokens }.reduce(0, +), elapsed: elapsed, serverCPU: cpu, failures: results.filter { $0 == nil }.count,
            firstTokens: firstTokens
        )
    }

    // MARK: The model server

    /// OpenAI's streaming chat completions: `bench:TOKENS:MILLISECONDS` in the last user message says how many
    /// tokens to send and how long to wait between them; usage comes last, as OpenAI sends it.
    static func modelPeer(port: Int) -> some ApplicationProtocol {
        let router = Router()
        router.get("/v1/models") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"{"object":"list","data":[{"id":"bench"}]}"#))) }
        router.post("/v1/chat/completions") { request, _ in
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            guard let marker = body.range(of: "bench:", options: .backwards) else { return Response(status: .badRequest) }
            let numbers = body[marker.upperBound...].prefix(while: { $0.isNumber || $0 == ":" }).split(separator: ":").compactMap { Int($0) }
            let count = numbers.first ?? 1
            let pace = numbers.count > 1 ? numbers[1] : 0
            let chunk = ByteBuffer(string: #"data: {"id":"b","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":""# + tokenText + #""}}]}"# + "\n\n")
            let end = ByteBuffer(
                string: #"data: {"id":"b","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"# + "\n\n"
                    + #"data: {"id":"b","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":"# + "\(count)" + "}}\n\n"
                    + "data: [DONE]\n\n"
            )
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream"],
                body: ResponseBody { writer in
                    for index in 0..<count {
                        try await writer.write(chunk)
                        if pace > 0, index < count - 1 { try await Task.sleep(for: .milliseconds(pace)) }
                    }
                    try await writer.write(end)
                    try await writer.finish(nil)
                }
            )
        }
        var quiet = Logger(label: "bench-model")
        quiet.logLevel = .error
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "bench-model"), logger: quiet)
    }

    static func waitForPort(_ port: Int) async throws {
        for _ in 0..<200 {
            if let descriptor = try? connectTCP(port: port) {
                close(descriptor)
                return
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw BenchFailure("le pair de modèle n'écoute pas sur \(port)")
    }
}

/// Why streams failed, and how many times each.
final class Reasons: Sendable {
    let counts = Mutex<[String: Int]>([:])
}

/// Counts `tokenText` in a byte stream cut anywhere.
struct TokenCounter {
    private(set) var count = 0
    private var carry: [UInt8] = []
    /// The stream's last bytes, to say how a short answer ended.
    private(set) var tail = ""
    private static let needle = Array(tokenText.utf8)

    mutating func scan(_ buffer: ByteBuffer) {
        let bytes = carry + buffer.readableBytesView
        let needle = Self.needle
        var index = 0
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0], bytes[index..<index + needle.count].elementsEqual(needle) {
                count += 1
                index += needle.count
            } else {
                index += 1
            }
        }
        carry = Array(bytes.suffix(needle.count - 1))
        tail = String(decoding: bytes.suffix(300), as: UTF8.self)
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
