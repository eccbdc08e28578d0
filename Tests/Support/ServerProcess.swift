import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A server in its own process, as in production, on its own port on 127.0.0.1: `widip serve` by default. Benchmarks
/// start the release build; tests start a second instance beside their in-process one.
public final class ServerProcess: Sendable {
    public let process: ChildProcess
    public let port: Int
    private let name: String

    public init(binary: String, arguments: [String] = ["serve"], port: Int, environment: [String: String]) throws {
        self.port = port
        name = URL(fileURLWithPath: binary).lastPathComponent
        process = try ChildProcess(
            executable: binary, arguments: arguments,
            environment: environment.merging(["PATH": "/usr/bin:/bin", "PORT": String(port), "HOST": "127.0.0.1"]) { _, fixed in fixed },
            // Not the caller's folder: a `.env` there would be read as configuration.
            directory: FileManager.default.temporaryDirectory.path
        )
    }

    /// Waits until the TCP port accepts connections; fails at once if the process exits first.
    public func waitUntilListening(attempts: Int = 400, every interval: Duration = .milliseconds(50)) async throws {
        for _ in 0..<attempts {
            guard process.isRunning else { throw ServerProcessError("\(name) exited at start (port \(port) taken?)") }
            if let descriptor = try? connectTCP(port: port) {
                close(descriptor)
                return
            }
            try await Task.sleep(for: interval)
        }
        throw ServerProcessError("nothing listens on port \(port) after \(attempts) attempts")
    }

    /// CPU seconds (user + system) the process has used so far.
    public var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return .nan }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, utime 14 and stime 15 (1-based, counting from pid).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident memory in bytes.
    public var residentBytes: Double {
        guard let status = try? String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return .nan }
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
        return kilobytes * 1024
    }

    /// SIGTERM, and waits for the exit. Blocks its thread: for a benchmark's main, not for the cooperative pool.
    public func stop() {
        process.signal(SIGTERM)
        process.waitForExitBlocking()
    }

    /// SIGTERM, then SIGKILL if the process has not exited after `grace` (a graceful shutdown waits for the clients'
    /// connections to close); returns once it has exited.
    public func shutDown(grace: Duration = .seconds(10)) async {
        guard process.isRunning else { return }
        process.signal(SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline { await Self.pause() }
        process.signal(SIGKILL)
        await process.waitForExit()
    }

    /// 20 ms, even in a cancelled task (where `Task.sleep` returns at once and the loop would spin).
    private static func pause() async {
        if Task.isCancelled { usleep(20_000) } else { try? await Task.sleep(for: .milliseconds(20)) }
    }
}

public struct ServerProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A blocking TCP socket connected to 127.0.0.1:`port`, for clients that must control every byte (a stalled reader,
/// a raw request). The caller closes it.
public func connectTCP(port: Int, configure: (Int32) -> Void = { _ in }) throws -> Int32 {
    // Close-on-exec: a process the suite starts meanwhile (a second server, a PostgreSQL restart) must not inherit the
    // socket, or closing it here would not end the connection and the server would wait on it for ever.
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { throw ServerProcessError("socket() failed") }
    configure(descriptor)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(descriptor)
        throw ServerProcessError("cannot connect to 127.0.0.1:\(port)")
    }
    return descriptor
}
