import Foundation
import Testing
import HTTPTypes
import HummingbirdWSClient
import Logging
import Synchronization

/// A WebSocket client over a real socket, driven step by step from a test.
final class TestSocket: Sendable {
    private let received = Mutex<[String]>([])
    private let outcome = Mutex<Result<WebSocketCloseFrame?, any Error>?>(nil)
    private let outgoing: AsyncStream<String>.Continuation

    /// Connects to `ws://127.0.0.1:port/path`; `token` goes in an Authorization header, `origin` in Origin.
    init(port: Int, path: String = "/api/ws", token: String?, origin: String? = nil, cookie: String? = nil) {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let origin { headers[.origin] = origin }
        if let cookie { headers[.cookie] = cookie }
        let (outgoingMessages, outgoing) = AsyncStream.makeStream(of: String.self)
        self.outgoing = outgoing
        var logger = Logger(label: "test-socket")
        logger.logLevel = .critical
        Task { [self] in
            do {
                let frame = try await WebSocketClient.connect(
                    url: "ws://127.0.0.1:\(port)\(path)", configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers), logger: logger
                ) { inbound, outbound, _ in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await message in outgoingMessages { try await outbound.write(.text(message)) }
                            try await outbound.close(.normalClosure, reason: nil)
                        }
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            if case .text(let text) = message { self.received.withLock { $0.append(text) } }
                        }
                        group.cancelAll()
                    }
                }
                self.outcome.withLock { $0 = .success(frame) }
            } catch {
                self.outcome.withLock { $0 = .failure(error) }
            }
        }
    }

    func send(_ json: [String: Any]) throws {
        outgoing.yield(String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self))
    }

    func subscribe(_ channels: [String], resumeFrom: Int64? = nil) throws {
        try send(["subscribe": channels, "resume_from": resumeFrom.map { $0 as Any } ?? NSNull()])
    }

    /// The next message as JSON, or nil when nothing came within `timeout`.
    func next(timeout: Duration = .seconds(30)) async -> [String: Any]? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let text = received.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                return try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    /// The next message whose `type` is `type`, skipping others.
    func next(type: String, timeout: Duration = .seconds(30)) async -> [String: Any]? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, let message = await next(timeout: deadline - ContinuousClock.now) {
            if message["type"] as? String == type { return message }
        }
        return nil
    }

    /// Event envelopes (messages with an id) until `count` arrived or `timeout` passed.
    func events(_ count: Int, timeout: Duration = .seconds(30)) async -> [[String: Any]] {
        var events: [[String: Any]] = []
        let deadline = ContinuousClock.now + timeout
        while events.count < count, ContinuousClock.now < deadline {
            guard let message = await next(timeout: deadline - ContinuousClock.now) else { break }
            if message["id"] != nil { events.append(message) }
        }
        return events
    }

    private func waitForOutcome(timeout: Duration) async -> Result<WebSocketCloseFrame?, any Error>? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let result = outcome.withLock({ $0 }) { return result }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    /// Runs `change`, which must end this socket's session (logout, deactivation), and checks that the server closes
    /// the socket with 4001 within `limit`. The clock starts once `change` has returned (it is committed): the request
    /// itself can take longer than a second on a loaded CI machine, and that is not what this bounds.
    func expectClosedBySessionEnd(
        within limit: Duration = .seconds(1), sourceLocation: SourceLocation = #_sourceLocation, after change: () async throws -> Void
    ) async throws {
        try await change()
        let committed = ContinuousClock.now
        #expect(await closeCode(timeout: limit * 2) == 4001, sourceLocation: sourceLocation)
        #expect(ContinuousClock.now - committed < limit, sourceLocation: sourceLocation)
    }

    /// The close code the server sent, once the socket closed (nil if it did not within `timeout`).
    func closeCode(timeout: Duration = .seconds(30)) async -> Int? {
        guard case .success(let frame?)? = await waitForOutcome(timeout: timeout) else { return nil }
        return Int(UInt16(webSocketErrorCode: frame.closeCode))
    }

    /// True when the server refused the upgrade: the client never got a WebSocket.
    func wasRefused(timeout: Duration = .seconds(30)) async -> Bool {
        if case .failure? = await waitForOutcome(timeout: timeout) { return true }
        return false
    }

    func close() {
        outgoing.finish()
    }
}
