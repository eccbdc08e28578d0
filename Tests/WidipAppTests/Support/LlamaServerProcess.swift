import Foundation
import HummingbirdTesting
import WidipTestSupport

/// llama.cpp's `llama-server` started for a test, on a port of its own, once it answers `/health`; killed by `body`'s
/// end. Model loading takes seconds on two cores (Qwen more than SmolLM2), hence the 120 s wait.
func withLlamaServerProcess<Value>(
    binary: String, model: String, alias: String, contextSize: Int, extraArguments: [String] = [],
    _ body: (_ port: Int) async throws -> Value
) async throws -> Value {
    let port = TestPorts.reserve()
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("widip-llama-\(port).log").path
    let process = try ChildProcess(
        executable: binary,
        arguments: [
            "-m", model, "--alias", alias, "--host", "127.0.0.1", "--port", String(port), "-t", "2", "-c", String(contextSize), "--parallel", "2",
        ] + extraArguments,
        standardOutput: log, standardError: log
    )
    defer {
        process.signal(SIGKILL)
        _ = process.waitForExitBlocking()
    }
    var healthy = false
    for _ in 0..<1200 where !healthy {
        guard process.isRunning else { throw TestSetupError("llama-server exited at start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")") }
        healthy = (try? await TestClient.withClient(host: "127.0.0.1", port: port) { try await $0.get("/health").status }) == .ok
        if !healthy { try await Task.sleep(for: .milliseconds(100)) }
    }
    guard healthy else { throw TestSetupError("llama-server did not answer /health within 120 s") }
    return try await body(port)
}
