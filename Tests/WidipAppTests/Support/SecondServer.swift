import Foundation
import HTTPTypes
import HummingbirdTesting
import WidipApp
import WidipTestSupport

/// A second `widip serve` process on the same database, for what must hold across instances.
struct SecondServer {
    let client: TestClient
    let process: ServerProcess
    var port: Int { process.port }

    static func run<Value>(
        sharing server: LiveServer, environment extra: [String: String] = [:], _ body: (SecondServer) async throws -> Value
    ) async throws -> Value {
        let database = server.config.databaseURL
        let process = try ServerProcess(
            binary: CommandLineTests.binary.path, port: TestPorts.reserve(),
            environment: [
                "JWT_SECRET": server.config.jwtSecret, "BCRYPT_COST": "4", "DATABASE_POOL_SIZE": "4",
                "DATABASE_URL": "postgresql://\(database.username):\(database.password ?? "")@\(database.host):\(database.port)/\(database.database)",
            ].merging(extra) { _, given in given }
        )
        do {
            // A loaded machine (the whole suite in parallel, coverage on) can take many seconds to start a process.
            var healthy = false
            for _ in 0..<300 where !healthy {
                guard process.process.isRunning else { throw TestSetupError("the second widip serve exited at start (port \(process.port) taken?)") }
                healthy = (try? await TestClient.withClient(host: "127.0.0.1", port: process.port) { try await $0.get("/health").status }) == .ok
                if !healthy { try await Task.sleep(for: .milliseconds(100)) }
            }
            guard healthy else { throw TestSetupError("the second widip serve did not answer /health on port \(process.port) within 30 s") }
            // Made only now: a TestClient dropped before it has connected and shut down traps ("leaking promise").
            let client = TestClient(host: "127.0.0.1", port: process.port)
            client.connect()
            let result: Result<Value, any Error>
            do { result = .success(try await body(SecondServer(client: client, process: process))) } catch { result = .failure(error) }
            // The client's connection first: the server's graceful shutdown waits for it.
            try? await client.shutdown()
            await process.shutDown()
            return try result.get()
        } catch {
            await process.shutDown()
            throw error
        }
    }

    func request(_ method: HTTPRequest.Method, _ path: String, token: String? = nil) async throws -> HTTPResult {
        try await LiveServer.send(through: client, method, path, token: token)
    }
}
