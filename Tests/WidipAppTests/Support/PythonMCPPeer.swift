import Foundation
import WidipTestSupport

/// An MCP server written with the official Python SDK (`e2e/peers/python_mcp_server.py`) in a child process: an
/// implementation of the protocol independent of ours, in the language of WIDIP's Phase 1 server. `./test` installs
/// the SDK in `.venv/` and names its Python in `WIDIP_TEST_PYTHON`.
final class PythonMCPPeer: Sendable {
    let port: Int
    private let process: ChildProcess

    var endpoint: String { "http://127.0.0.1:\(port)/mcp" }

    private init(port: Int, process: ChildProcess) {
        self.port = port
        self.process = process
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var python: URL {
        get throws {
            let candidates: [String?] = [ProcessInfo.processInfo.environment["WIDIP_TEST_PYTHON"], repositoryRoot.appendingPathComponent(".venv/bin/python").path]
            guard let found = candidates.compactMap({ $0 }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                throw TestSetupError("no Python with the mcp package: run ./test, which installs it in .venv/, or set WIDIP_TEST_PYTHON")
            }
            return URL(fileURLWithPath: found)
        }
    }

    /// Starts on `port` (or a free one below the ephemeral range, so it can be restarted on the same port) and waits
    /// until it accepts connections (an HTTP probe would not do: its stateless mode answers a GET with an endless stream).
    static func start(port: Int? = nil, jsonReplies: Bool = false) async throws -> PythonMCPPeer {
        let port = port ?? TestPorts.reserve()
        let process = try ChildProcess(
            executable: try python.path,
            arguments: [repositoryRoot.appendingPathComponent("e2e/peers/python_mcp_server.py").path, String(port)] + (jsonReplies ? ["--json"] : [])
        )
        let peer = PythonMCPPeer(port: port, process: process)
        for _ in 0..<150 {
            guard process.isRunning else { throw TestSetupError("the Python MCP server exited at start (port \(port) taken, or mcp missing?)") }
            if Self.acceptsConnections(port: port) { return peer }
            try await Task.sleep(for: .milliseconds(100))
        }
        await peer.stop()
        throw TestSetupError("the Python MCP server did not answer on port \(port) within 15 s")
    }

    private static func acceptsConnections(port: Int) -> Bool {
        guard let descriptor = try? connectTCP(port: port) else { return false }
        close(descriptor)
        return true
    }

    /// SIGKILL, as in a crash.
    func stop() async {
        process.signal(SIGKILL)
        await process.waitForExit()
    }

    static func with<Value>(jsonReplies: Bool = false, _ body: (PythonMCPPeer) async throws -> Value) async throws -> Value {
        try await stopping(try await start(jsonReplies: jsonReplies), { $0.stop }, body)
    }
}
