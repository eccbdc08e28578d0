import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import WidipApp
import WidipTestSupport

// Login under load at bcrypt cost 12, and what it does to everyone else's requests.
// Run with bench/run (release build, its own PostgreSQL). Prints figures; asserts nothing.

@main
struct AuthBench {
    static let users = 20
    static let loginsPerUser = 5  // the login limit is 5 per minute per (IP, user): stay within it

    static func main() async throws {
        let settings = BenchSettings.fromEnvironment()
        let config = try settings.config(bcryptCost: 12)

        print("Préparation : \(users) comptes au coût bcrypt 12…")
        try await AppServices(config: config, logger: BenchSettings.logger).withDatabase { services in
            _ = try await services.migrate()
            for index in 0..<users where try await services.users.list(search: "bench-\(index)").isEmpty {
                _ = try await services.users.create(
                    NewUser(username: "bench-\(index)", password: "mot-de-passe-bench", level: .n1), actorID: nil, client: .commandLine
                )
            }
        }

        // The server under test is the release `widip serve`, in its own process, as in production.
        let port = Int.random(in: 41000...48000)
        let server = try ServerProcess(
            binary: settings.widipBinary, port: port, environment: settings.serverEnvironment(bcryptCost: 12)
        )
        defer { server.stop() }
        try await server.waitUntilListening()

        // Baseline 1: one bcrypt verification at cost 12, called directly (what a login cannot go below).
        let hasher = PasswordHasher(cost: 12, threadPool: .singleton)
        let hash = try await hasher.hash("mot-de-passe-bench")
        var bcrypt = Figures()
        for _ in 0..<10 { bcrypt.add(try await timed { try await hasher.verify("mot-de-passe-bench", against: hash) }.1) }

        // Baseline 2: /health at rest.
        let healthAtRest = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            var figures = Figures()
            for _ in 0..<50 { _ = try await client.get("/health") }
            for _ in 0..<500 { figures.add(try await timed { try await client.get("/health") }.1) }
            return figures
        }

        // Load: 20 users log in concurrently, 5 times each; a prober calls /health every 10 ms meanwhile.
        let start = ContinuousClock.now
        let (logins, healthUnderLoad, failures) = try await withThrowingTaskGroup(of: (Figures, Figures, Int).self) { group in
            for index in 0..<users {
                group.addTask {
                    try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                        var figures = Figures()
                        var failed = 0
                        let body = ByteBuffer(string: #"{"username":"bench-\#(index)","password":"mot-de-passe-bench"}"#)
                        for _ in 0..<loginsPerUser {
                            let (response, duration) = try await timed {
                                try await client.post("/api/auth/login", headers: [.contentType: "application/json"], body: body)
                            }
                            if response.status == .ok { figures.add(duration) } else { failed += 1 }
                        }
                        return (figures, Figures(), failed)
                    }
                }
            }
            var logins = Figures()
            var failures = 0
            let probe = Task {
                try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                    var figures = Figures()
                    while !Task.isCancelled {
                        figures.add(try await timed { try await client.get("/health") }.1)
                        try? await Task.sleep(for: .milliseconds(10))
                    }
                    return figures
                }
            }
            for try await (figures, _, failed) in group {
                logins.samples += figures.samples
                failures += failed
            }
            probe.cancel()
            return (logins, try await probe.value, failures)
        }
        let elapsed = ContinuousClock.now - start

        print("")
        print("Connexions au coût bcrypt 12 (serveur widip en release, \(ProcessInfo.processInfo.activeProcessorCount) cœurs vus)")
        print("  bcrypt seul, appel direct         \(bcrypt.summary)")
        print("  login, \(users) en parallèle         \(logins.summary)")
        print(String(format: "  débit                             %.1f connexions/s sur %.1f s, %d échec(s)", Double(logins.samples.count) / (elapsed.milliseconds / 1000), elapsed.milliseconds / 1000, failures))
        print("")
        print("/health pendant ces connexions, comparé au repos")
        print("  au repos                          \(healthAtRest.summary)")
        print("  pendant les connexions            \(healthUnderLoad.summary)")
        print(String(format: "  rapport p99 charge / repos        %.1f×", healthUnderLoad.percentile(0.99) / healthAtRest.percentile(0.99)))
    }
}
