import Foundation
import Synchronization
import WidipTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection that sends exactly the bytes a test gives it, as a hostile or broken client would. Non-blocking:
/// the in-process server shares the test's cooperative threads, so a test must wait by sleeping, never in a syscall.
final class RawConnection: Sendable {
    let descriptor: Int32
    private let closed = Mutex(false)

    init(port: Int) throws {
        descriptor = try connectTCP(port: port)
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    deinit { close() }

    func close() {
        guard closed.withLock({ wasClosed in defer { wasClosed = true }; return !wasClosed }) else { return }
        Glibc.close(descriptor)
    }

    func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    /// Sends `bytes`, or as many as the server reads before it answers and closes (what it answered stays readable).
    func send(_ bytes: [UInt8]) async throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBufferPointer { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count > 0 {
                sent += count
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                try await Task.sleep(for: .milliseconds(10))
            } else if errno == EPIPE || errno == ECONNRESET {
                return
            } else {
                throw TestSetupError("send failed after \(sent) of \(bytes.count) bytes: errno \(errno)")
            }
        }
    }

    /// Everything the server sends until it closes the connection, or nil if it is still open after `timeout`.
    func readUntilClosed(timeout: Duration) async -> String? {
        let deadline = ContinuousClock.now + timeout
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 {
                received += buffer[0..<count]
            } else if count < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                try? await Task.sleep(for: .milliseconds(20))
            } else {
                // End of stream, or a reset after the answer: closed either way.
                return String(decoding: received, as: UTF8.self)
            }
        }
        return nil
    }

    /// The status code of the first answer's status line, read within `timeout`.
    func statusCode(timeout: Duration = .seconds(10)) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        var received = [UInt8]()
        var byte: UInt8 = 0
        while ContinuousClock.now < deadline, !(received.count >= 2 && received.suffix(2) == [13, 10]) {
            let count = recv(descriptor, &byte, 1, 0)
            if count == 1 {
                received.append(byte)
            } else if count < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                try? await Task.sleep(for: .milliseconds(20))
            } else {
                break
            }
        }
        let line = String(decoding: received, as: UTF8.self).split(separator: " ")
        return line.count >= 2 ? Int(line[1]) : nil
    }
}
