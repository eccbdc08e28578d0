import Foundation

/// Latency samples and their percentiles, printed by every benchmark.
public struct Figures: Sendable {
    public init() {}

    public var samples: [Duration] = []
    public mutating func add(_ duration: Duration) { samples.append(duration) }

    public func percentile(_ p: Double) -> Double {
        let sorted = samples.sorted()
        guard !sorted.isEmpty else { return .nan }
        let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
        return milliseconds(sorted[max(0, index)])
    }

    public var summary: String {
        String(format: "p50 %8.2f ms   p99 %8.2f ms   max %8.2f ms   (n = %d)", percentile(0.5), percentile(0.99), percentile(1.0), samples.count)
    }
}

public func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

public func timed<T>(isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T) async rethrows -> (T, Duration) {
    let start = ContinuousClock.now
    let value = try await body()
    return (value, ContinuousClock.now - start)
}


/// What `bench/run` passes to every benchmark: the database and the release binaries to start.
public struct BenchSettings: Sendable {
    public let databaseURL: String
    public let widipBinary: String

    /// The release `widip-demo-mcp`, beside `widip`.
    public var demoMCPBinary: String {
        URL(fileURLWithPath: widipBinary).deletingLastPathComponent().appendingPathComponent("widip-demo-mcp").path
    }

    /// Reads the settings, or prints the usage and exits with 2.
    public static func fromEnvironment() -> BenchSettings {
        let environment = ProcessInfo.processInfo.environment
        guard let databaseURL = environment["BENCH_DATABASE_URL"], let binary = environment["BENCH_WIDIP_BINARY"] else {
            FileHandle.standardError.write(Data("usage: bench/run (sets BENCH_DATABASE_URL and BENCH_WIDIP_BINARY)\n".utf8))
            exit(2)
        }
        return BenchSettings(databaseURL: databaseURL, widipBinary: binary)
    }
}

/// A server of the release build in its own process, as in production, on its own port: `widip serve` by default.
public final class ServerProcess: Sendable {
    public let process: Process
    public let port: Int

    public init(binary: String, arguments: [String] = ["serve"], port: Int, environment: [String: String]) throws {
        self.port = port
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment.merging(["PATH": "/usr/bin:/bin", "PORT": String(port), "HOST": "127.0.0.1"]) { _, fixed in fixed }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Waits until the TCP port accepts connections.
    public func waitUntilListening() async throws {
        for _ in 0..<400 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if connected == 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CancellationError()
    }

    /// CPU seconds (user + system) the process has used so far.
    public var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return .nan }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, utime 14 and stime 15 (1-based, counting from pid).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident memory in bytes.
    public var residentBytes: Double {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return .nan }
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
        return kilobytes * 1024
    }

    public func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}
