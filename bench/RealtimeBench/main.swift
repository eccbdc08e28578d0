import WidipTestSupport
import Foundation
import HTTPTypes
import HummingbirdWSClient
import HummingbirdWSCompression
import Logging
import PostgresNIO
import Synchronization
import WidipApp

// The real-time bus under load: 1,000 WebSocket clients spread over 2 `widip serve` instances on one database,
// 20 events/s, then a burst of 200; next to a raw pg_notify round trip on the same database.
// Run with bench/run. Prints figures; asserts nothing.

let clientCount = Int(ProcessInfo.processInfo.environment["BENCH_CLIENTS"] ?? "") ?? 1000
/// BENCH_COMPRESSION=1: servers offer permessage-deflate and clients ask for it, as browsers do.
let compression = ProcessInfo.processInfo.environment["BENCH_COMPRESSION"] == "1"
let steadyEvents = 200  // 10 s at 20 events/s
let burstEvents = 200

/// What every client saw: per event sequence number, how many clients got it, and every latency.
final class Deliveries: Sendable {
    let counts: Mutex<[Int]>
    let latencies = Mutex<[Duration]>([])
    let duplicates = Mutex(0)
    let publishedAt: Mutex<[ContinuousClock.Instant?]>
    let lastArrival = Mutex<ContinuousClock.Instant?>(nil)
    let subscribed = Mutex(0)

    init(events: Int) {
        counts = Mutex(Array(repeating: 0, count: events))
        publishedAt = Mutex(Array(repeating: nil, count: events))
    }

    func record(sequence: Int, client seen: inout Set<Int>) {
        let now = ContinuousClock.now
        guard seen.insert(sequence).inserted else {
            duplicates.withLock { $0 += 1 }
            return
        }
        counts.withLock { $0[sequence] += 1 }
        if let sent = publishedAt.withLock({ $0[sequence] }) { latencies.withLock { $0.append(now - sent) } }
        lastArrival.withLock { $0 = now }
    }
}

/// `"seq":123` from an envelope, without decoding the whole JSON (1,000 clients share one core with the servers).
func sequence(in text: Substring) -> Int? {
    guard let range = text.range(of: #""seq":"#) else { return nil }
    // Postgres prints jsonb with a space after the colon.
    return Int(text[range.upperBound...].drop(while: { $0 == " " }).prefix(while: \.isNumber))
}

@main
struct RealtimeBench {
    static func main() async throws {
        let settings = BenchSettings.fromEnvironment()
        let binary = settings.widipBinary
        let config = try settings.config()
        let database = config.databaseURL
        let logger = BenchSettings.logger
        let services = try await AppServices(config: config, logger: logger)

        try await services.withDatabase { services in
            _ = try await services.migrate()
            if try await services.users.list(search: "bench-rt").isEmpty {
                _ = try await services.users.create(
                    NewUser(username: "bench-rt", password: "mot-de-passe-bench", level: .n4), actorID: nil, client: .commandLine
                )
            }
            let token = try await services.auth.login(username: "bench-rt", password: "mot-de-passe-bench", client: .commandLine).token

            // Baseline: a raw pg_notify round trip on the same database.
            let notifyFigures = try await rawNotifyRoundTrip(database: database, logger: logger)

            let serverEnvironment = settings.serverEnvironment().merging(["WS_COMPRESSION": compression ? "1" : "0"]) { _, new in new }
            let basePort = Int.random(in: 41000...47000)
            let servers = try [ServerProcess(binary: binary, port: basePort, environment: serverEnvironment),
                               ServerProcess(binary: binary, port: basePort + 1, environment: serverEnvironment)]
            defer { servers.forEach { $0.stop() } }
            for server in servers { try await server.waitUntilListening() }
            try await Task.sleep(for: .seconds(1))
            let memoryBefore = servers.map(\.residentBytes)

            let total = steadyEvents + burstEvents
            let deliveries = Deliveries(events: total)
            var clients: [Task<Void, Never>] = []
            print("Connexion de \(clientCount) clients WebSocket sur 2 instances…")
            for index in 0..<clientCount {
                let port = servers[index % 2].port
                clients.append(Task { [deliveries, token] in
                    var headers = HTTPFields()
                    headers[.authorization] = "Bearer \(token)"
                    var quiet = Logger(label: "client")
                    quiet.logLevel = .critical
                    _ = try? await WebSocketClient.connect(
                        url: "ws://127.0.0.1:\(port)/api/ws",
                        configuration: .init(additionalHeaders: headers, extensions: compression ? [.perMessageDeflate()] : []), logger: quiet
                    ) { inbound, outbound, _ in
                        try await outbound.write(.text(#"{"subscribe":["safeguard"],"resume_from":null}"#))
                        var seen = Set<Int>()
                        for try await message in inbound.messages(maxSize: 1 << 16) {
                            guard case .text(let text) = message else { continue }
                            if let sequence = sequence(in: text[...]) {
                                deliveries.record(sequence: sequence, client: &seen)
                            } else if text.contains(#""type":"subscribed""#) {
                                deliveries.subscribed.withLock { $0 += 1 }
                            }
                        }
                    }
                })
                if index % 50 == 49 { try await Task.sleep(for: .milliseconds(20)) }
            }
            let connectDeadline = ContinuousClock.now + .seconds(60)
            while deliveries.subscribed.withLock({ $0 }) < clientCount, ContinuousClock.now < connectDeadline { try await Task.sleep(for: .milliseconds(100)) }
            let connected = deliveries.subscribed.withLock { $0 }
            try await Task.sleep(for: .seconds(2))
            let memoryIdle = servers.map(\.residentBytes)

            // Steady: 20 events/s, one transaction each, like state changes.
            let cpuBefore = servers.map(\.cpuSeconds)
            var insert = Figures()
            let steadyStart = ContinuousClock.now
            for sequence in 0..<steadyEvents {
                let due = steadyStart + .milliseconds(50 * sequence)
                try await Task.sleep(until: due)
                insert.add(try await timed { try await publish(sequence, services: services, deliveries: deliveries) }.1)
            }
            try await waitForDeliveries(deliveries, events: 0..<steadyEvents, clients: connected)
            let cpuSteady = zip(servers.map(\.cpuSeconds), cpuBefore).map { $0 - $1 }.reduce(0, +)
            let steadyLatencies = deliveries.latencies.withLock { $0 }

            // Burst: 200 events as fast as one writer commits them.
            let burstStart = ContinuousClock.now
            for sequence in steadyEvents..<total {
                try await publish(sequence, services: services, deliveries: deliveries)
            }
            let burstWritten = ContinuousClock.now - burstStart
            try await waitForDeliveries(deliveries, events: steadyEvents..<total, clients: connected)
            let burstDelivered = (deliveries.lastArrival.withLock { $0 } ?? burstStart) - burstStart

            let counts = deliveries.counts.withLock { $0 }
            let missing = counts.reduce(0) { $0 + max(0, connected - $1) }
            let duplicates = deliveries.duplicates.withLock { $0 }
            var steady = Figures()
            steady.samples = steadyLatencies
            let perIdleConnection = zip(memoryIdle, memoryBefore).map { $0 - $1 }.reduce(0, +) / Double(max(connected, 1))
            let delivered = Double(steadyEvents * connected)

            print("")
            print("Bus temps réel : \(connected)/\(clientCount) clients abonnés, 2 instances widip (release), \(ProcessInfo.processInfo.activeProcessorCount) cœurs vus, compression \(compression ? "permessage-deflate" : "aucune")")
            print("  pg_notify brut, aller-retour            \(notifyFigures.summary)")
            print("  INSERT d'un événement (autocommit)      \(insert.summary)")
            print("  commit → client WebSocket, 20 év./s     \(steady.summary)")
            print(String(format: "  rafale de %d événements : écrits en %.0f ms, reçus par tous les clients en %.0f ms", burstEvents, burstWritten.milliseconds, burstDelivered.milliseconds))
            print(String(format: "  CPU serveur par message livré           %.1f µs (%.2f s CPU pour %.0f messages)", cpuSteady / delivered * 1e6, cpuSteady, delivered))
            print(String(format: "  mémoire par connexion inactive          %.1f Kio", perIdleConnection / 1024))
            print("  manquants : \(missing)   doublons : \(duplicates)")
            clients.forEach { $0.cancel() }
        }
    }

    static func publish(_ sequence: Int, services: AppServices, deliveries: Deliveries) async throws {
        deliveries.publishedAt.withLock { $0[sequence] = ContinuousClock.now }
        try await services.postgres.withConnection { connection in
            try await services.events.publish(channel: .safeguard, type: "safeguard:new_request", data: ["seq": .number(Double(sequence))], on: connection)
        }
    }

    static func waitForDeliveries(_ deliveries: Deliveries, events: Range<Int>, clients: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let done = deliveries.counts.withLock { counts in events.allSatisfy { counts[$0] >= clients } }
            if done { return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
