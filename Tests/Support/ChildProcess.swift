import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn` and watched with `waitpid(pid, WNOHANG)`: the suite's servers, peers,
/// PostgreSQL tools and command-line runs.
///
/// Not Foundation's `Process`: on Linux it learns of a child's exit from a socket pair the child inherits, and when
/// several children are started at once from different threads (the suite runs in parallel) a child can hold another
/// one's socket. Its monitor thread was then seen blocked in `waitpid` on a child that was still running, and every
/// other child's exit went unnoticed: tests waiting for one hung until CI's time limit.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    /// The wait status, once reaped.
    private let status = Mutex<Int32?>(nil)

    /// Starts `executable`. Standard input reads `standardInput` (a file; `/dev/null` by default), output and errors go
    /// to the files given (created or truncated), and the child keeps no other descriptor of this process: a server
    /// it starts in turn (a postmaster) must not hold the suite's sockets open.
    public init(
        executable: String, arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        standardInput: String = "/dev/null", standardOutput: String = "/dev/null", standardError: String = "/dev/null"
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, standardInput, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard GNUSpawnActions.closeFrom(&actions, 3) == 0 else { throw ChildProcessError("posix_spawn_file_actions_addclosefrom_np failed") }
        if let directory {
            guard GNUSpawnActions.changeDirectory(&actions, directory) == 0 else { throw ChildProcessError("cannot run in \(directory)") }
        }

        // Its own process group: a signal meant for the test run (a terminal's Ctrl-C) is not delivered to it twice.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        // The test process blocks some signals (SIGTERM among them, for ServiceLifecycle); the child must not inherit that.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables = environment.map { $0.map { "\($0.key)=\($0.value)" } } ?? ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let envp = variables.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }

        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(result)))") }
        self.pid = pid
    }

    /// Whether it has not exited yet (reaps it when it has).
    public var isRunning: Bool { reap(blocking: false) == nil }

    /// The exit code, or 128 + the signal that ended it; nil while it runs.
    public var exitCode: Int32? {
        guard let status = reap(blocking: false) else { return nil }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Returns once it has exited. Polls rather than block one of the cooperative pool's few threads, and pauses even
    /// in a cancelled task (where `Task.sleep` returns at once and the loop would spin).
    public func waitForExit() async {
        while isRunning {
            if Task.isCancelled { usleep(20_000) } else { try? await Task.sleep(for: .milliseconds(20)) }
        }
    }

    /// Blocks the calling thread until it has exited (a benchmark's main, a short-lived tool off the pool).
    @discardableResult
    public func waitForExitBlocking() -> Int32 {
        _ = reap(blocking: true)
        return exitCode ?? -1
    }

    private func reap(blocking: Bool) -> Int32? {
        if let known = status.withLock({ $0 }) { return known }
        var raw: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &raw, blocking ? 0 : WNOHANG) } while result == -1 && errno == EINTR
        // 0: still running. -1 (ECHILD): another caller reaped it just now and records the status.
        if result == pid { status.withLock { if $0 == nil { $0 = raw } } }
        return status.withLock { $0 }
    }
}

/// glibc's spawn actions that Swift's Glibc module does not declare (they need `_GNU_SOURCE`); glibc ≥ 2.34 has both.
private enum GNUSpawnActions {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    static let closeFrom: CloseFrom = function("posix_spawn_file_actions_addclosefrom_np")
    static let changeDirectory: ChangeDirectory = function("posix_spawn_file_actions_addchdir_np")

    private static func function<Function>(_ name: String) -> Function {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { fatalError("\(name) is missing: glibc ≥ 2.34 is needed") }
        return unsafeBitCast(symbol, to: Function.self)
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
