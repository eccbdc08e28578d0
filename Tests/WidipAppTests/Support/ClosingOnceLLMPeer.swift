import Foundation
import Synchronization
import WidipTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// An OpenAI-compatible model server on a plain socket that closes its first connection as soon as a request arrives,
/// without a word (as llama-server closes a keep-alive connection just as the client reuses it), and answers the
/// following ones with a short streamed reply.
final class ClosingOnceLLMPeer: Sendable {
    let port: Int
    private let listener: Int32
    private let accepted = Accepted()

    private final class Accepted: Sendable {
        let count = Atomic<Int>(0)
    }

    /// How many connections it has accepted.
    var connections: Int { accepted.count.load(ordering: .relaxed) }

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound, listen(listener, 8) == 0 else { throw TestSetupError("ClosingOnceLLMPeer: no socket") }
        port = Int(UInt16(bigEndian: address.sin_port))
        self.listener = listener
        let accepted = accepted
        Thread.detachNewThread {
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                let number = accepted.count.add(1, ordering: .relaxed).newValue
                Self.serve(connection, answering: number > 1)
            }
        }
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private static func serve(_ connection: Int32, answering: Bool) {
        defer { close(connection) }
        // The whole request: its head, then as many bytes as Content-Length says.
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(connection, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            received += buffer[0..<count]
            let text = String(decoding: received, as: UTF8.self)
            guard let end = text.range(of: "\r\n\r\n") else { continue }
            let length = text[..<end.lowerBound].split(separator: "\r\n")
                .first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            if text.utf8.count - text[..<end.upperBound].utf8.count >= length { break }
        }
        guard answering else { return }
        let body = #"data: {"choices":[{"index":0,"delta":{"content":"Bonjour"}}]}"# + "\n\n" + "data: [DONE]\n\n"
        let response = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
        _ = Array(response.utf8).withUnsafeBytes { send(connection, $0.baseAddress, $0.count, 0) }
    }
}
