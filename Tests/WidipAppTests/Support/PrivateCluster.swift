import Foundation
import WidipTestSupport
#if canImport(Glibc)
import Glibc
#endif
import WidipApp

/// A PostgreSQL cluster of one test's own, that the test may stop and start (the shared one must stay up).
/// Uses the binaries `./test` found (`WIDIP_TEST_PG_BIN`); as root, runs them as `nobody`, as Postgres requires.
struct PrivateCluster: Sendable {
    let directory: URL
    let port: Int
    let bin: String

    var url: DatabaseURL { DatabaseURL(host: "127.0.0.1", port: port, username: "widip", password: nil, database: "postgres", tlsMode: .disable) }

    static func withCluster<Value>(_ body: (PrivateCluster) async throws -> Value) async throws -> Value {
        guard let bin = ProcessInfo.processInfo.environment["WIDIP_TEST_PG_BIN"] else {
            throw TestSetupError("WIDIP_TEST_PG_BIN is not set: run the tests with ./test")
        }
        let directory = URL(fileURLWithPath: "/tmp/widip-cluster-\(UUID().uuidString.prefix(8))")
        let cluster = PrivateCluster(directory: directory, port: TestPorts.reserve(), bin: bin)
        try await offThePool { try cluster.create() }
        try await offThePool {
            try cluster.pgctl(["start", "-w", "-o", "-p \(cluster.port) -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off"])
        }
        do {
            let value = try await body(cluster)
            try? await offThePool { try cluster.pgctl(["stop", "-m", "immediate"]) }
            try? FileManager.default.removeItem(at: directory)
            return value
        } catch {
            try? await offThePool { try cluster.pgctl(["stop", "-m", "immediate"]) }
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    private func create() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if getuid() == 0 { try run("/bin/chown", ["nobody", directory.path]) }
        try postgres("initdb", ["-D", directory.path, "-U", "widip", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
    }

    func pgctl(_ arguments: [String]) throws {
        try postgres("pg_ctl", ["-D", directory.path, "-l", directory.path + "/server.log"] + arguments)
    }

    func restart() async throws {
        let cluster = self
        try await offThePool {
            try cluster.pgctl(["restart", "-m", "fast", "-w", "-o", "-p \(cluster.port) -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off"])
        }
    }

    private func postgres(_ tool: String, _ arguments: [String]) throws {
        if getuid() == 0 {
            try run("/usr/sbin/runuser", ["-u", "nobody", "--", "\(bin)/\(tool)"] + arguments)
        } else {
            try run("\(bin)/\(tool)", arguments)
        }
    }

    private func run(_ executable: String, _ arguments: [String]) throws {
        let status = try ChildProcess(executable: executable, arguments: arguments).waitForExitBlocking()
        guard status == 0 else { throw TestSetupError("\(executable) \(arguments.joined(separator: " ")) failed (\(status))") }
    }
}
