import Foundation
import Synchronization

/// Ports for the servers a test run starts on a port it chooses (a peer restarted on the same port, a second backend,
/// a private PostgreSQL cluster). Each port is handed out once per run and only when nothing listens on it, so two
/// helpers never share one: a Python MCP peer that probed a port held by a private cluster once talked HTTP to
/// PostgreSQL. Below Linux's ephemeral range (32768–60999), where the run's own client sockets could hold them.
public enum TestPorts {
    private static let handedOut = Mutex<Set<Int>>([])

    public static func reserve() -> Int {
        for _ in 0..<1_000 {
            let candidate = Int.random(in: 10_001...32_700)
            let fresh = handedOut.withLock { $0.insert(candidate).inserted }
            if fresh && isFree(candidate) { return candidate }
        }
        fatalError("no free port below 32768 after 1,000 tries")
    }

    private static func isFree(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
