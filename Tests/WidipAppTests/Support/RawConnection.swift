import Foundation
import WidipTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection that sends exactly the bytes a test gives it, as a hostile or broken client would.
final class RawConnection: Sendable {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = try connectTCP(port: port)
    }

    deinit { Glibc.close(descriptor) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBufferPointer { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw TestSetupError("send failed after \(sent) of \(bytes.count) bytes") }
            sent += count
        }
    }

    /// Everything the server sends until it closes the connection, or nil if it is still open after `timeout`.
    func readUntilClosed(timeout: Duration) -> String? {
        let deadline = ContinuousClock.now + timeout
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            // A reset after the answer is a close too (the server closed with our unread bytes in its buffer).
            if count <= 0 { return String(decoding: received, as: UTF8.self) }
            received += buffer[0..<count]
        }
        return nil
    }

    /// The status line's code of the first answer, read within `timeout`.
    func statusCode(timeout: Duration = .seconds(10)) -> Int? {
        let deadline = ContinuousClock.now + timeout
        var received = [UInt8]()
        var byte: UInt8 = 0
        while ContinuousClock.now < deadline, !received.ends(with: Array("\r\n".utf8)) {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            guard recv(descriptor, &byte, 1, 0) == 1 else { break }
            received.append(byte)
        }
        let line = String(decoding: received, as: UTF8.self).split(separator: " ")
        return line.count >= 2 ? Int(line[1]) : nil
    }
}

extension Array where Element: Equatable {
    fileprivate func ends(with suffix: [Element]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
