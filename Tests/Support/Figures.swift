import Foundation
import Logging
import WidipApp

/// Latency samples and their percentiles, printed by every benchmark.
public struct Figures: Sendable {
    public init() {}

    public var samples: [Duration] = []
    public mutating func add(_ duration: Duration) { samples.append(duration) }

    public func percentile(_ p: Double) -> Double {
        let sorted = samples.sorted()
        guard !sorted.isEmpty else { return .nan }
        let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
        return sorted[max(0, index)].milliseconds
    }

    public var summary: String {
        String(format: "p50 %8.2f ms   p99 %8.2f ms   max %8.2f ms   (n = %d)", percentile(0.5), percentile(0.99), percentile(1.0), samples.count)
    }
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
    /// Shared by the benchmark's own services and the servers it starts, so tokens of one are valid on the other.
    public let jwtSecret = String(repeating: "b", count: 48)

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

    /// Errors only: a benchmark prints figures, not logs.
    public static var logger: Logger {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        return logger
    }

    /// The configuration of the benchmark's own services (to prepare data, or to call in-process).
    public func config(bcryptCost: Int = 4, mcpServerURL: String? = nil) throws -> AppConfig {
        AppConfig(jwtSecret: jwtSecret, databaseURL: try DatabaseURL(parsing: databaseURL), mcpServerURL: mcpServerURL, bcryptCost: bcryptCost)
    }

    /// The environment of a `widip serve` under test, on the same database, with no rate limit in the way.
    public func serverEnvironment(bcryptCost: Int = 4) -> [String: String] {
        ["JWT_SECRET": jwtSecret, "DATABASE_URL": databaseURL, "BCRYPT_COST": String(bcryptCost), "RATE_LIMIT_PER_MINUTE": "1000000"]
    }
}
