import Foundation
import WidipTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A WebSocket client that subscribes and then never reads: the server must cut it off, not wait for it.
final class StalledSocket: Sendable {
    let descriptor: Int32

    init(port: Int, token: String) throws {
        descriptor = try connectTCP(port: port) { descriptor in
            // A small receive window, so the server's side fills quickly.
            var size: Int32 = 4096
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        let request = "GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer \(token)\r\n\r\n"
        try send(Array(request.utf8))
        // Read the 101 answer only, then subscribe with a masked text frame, then never read again.
        var buffer = [UInt8](repeating: 0, count: 1024)
        var header = ""
        while !header.contains("\r\n\r\n") {
            let count = recv(descriptor, &buffer, 1, 0)
            guard count > 0 else { throw TestSetupError("no upgrade answer") }
            header += String(decoding: buffer[0..<count], as: UTF8.self)
        }
        guard header.hasPrefix("HTTP/1.1 101") else { throw TestSetupError("upgrade refused: \(header)") }
        let payload = Array(#"{"subscribe":["safeguard"],"resume_from":null}"#.utf8)
        let mask: [UInt8] = [1, 2, 3, 4]
        try send([0x81, 0x80 | UInt8(payload.count)] + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
    }

    private func send(_ bytes: [UInt8]) throws {
        guard Glibc.send(descriptor, bytes, bytes.count, 0) == bytes.count else { throw TestSetupError("send failed") }
    }

    /// Drains what the server sent and returns the close code of its close frame, if it sent one.
    func closeCode() -> Int? {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(descriptor, F_SETFL, flags) }
        // Reading lets the server send what it queued behind the full buffers, its close frame last.
        var quietSince = Date()
        while Date().timeIntervalSince(quietSince) < 1 {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 { break }
            if count < 0 {
                usleep(10_000)
                continue
            }
            data += buffer[0..<count]
            quietSince = Date()
        }
        // Walk the frames to the close frame (opcode 8): its payload starts with the code.
        var index = 0
        while index + 2 <= data.count {
            let opcode = data[index] & 0x0F
            var length = Int(data[index + 1] & 0x7F)
            var offset = index + 2
            if length == 126, offset + 2 <= data.count {
                length = Int(data[offset]) << 8 | Int(data[offset + 1])
                offset += 2
            } else if length == 127, offset + 8 <= data.count {
                length = data[offset..<(offset + 8)].reduce(0) { $0 << 8 | Int($1) }
                offset += 8
            }
            if opcode == 8, offset + 2 <= data.count { return Int(data[offset]) << 8 | Int(data[offset + 1]) }
            index = offset + length
        }
        return nil
    }

    func close() {
        Glibc.close(descriptor)
    }
}
