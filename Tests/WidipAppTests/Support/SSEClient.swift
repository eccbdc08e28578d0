import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// One Server-Sent Event as a browser's EventSource would see it.
struct SSEEvent: Sendable {
    let name: String
    let id: String?
    let data: String

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]) ?? [:] }
}

/// A streamed request over a real socket, read event by event as it arrives; `close()` drops the connection as a
/// reloaded page does.
final class SSEStream: Sendable {
    let status: Int
    let events: AsyncStream<SSEEvent>
    /// The body as text when the answer was not a stream (an error envelope).
    let errorBody: String?
    private let reader: Task<Void, Never>?

    private init(status: Int, events: AsyncStream<SSEEvent>, errorBody: String?, reader: Task<Void, Never>?) {
        self.status = status
        self.events = events
        self.errorBody = errorBody
        self.reader = reader
    }

    static func open(port: Int, _ method: HTTPMethod, _ path: String, token: String, json: [String: Any]? = nil, headers: [(String, String)] = []) async throws -> SSEStream {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "text/event-stream")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let contentType = response.headers.first(name: "Content-Type") ?? ""
        guard contentType.hasPrefix("text/event-stream") else {
            let body = try await response.body.collect(upTo: 1 << 20)
            let (events, continuation) = AsyncStream.makeStream(of: SSEEvent.self)
            continuation.finish()
            return SSEStream(status: Int(response.status.code), events: events, errorBody: String(buffer: body), reader: nil)
        }
        let (events, continuation) = AsyncStream.makeStream(of: SSEEvent.self)
        let reader = Task {
            defer { continuation.finish() }
            var pending = ""
            do {
                for try await chunk in response.body {
                    pending += String(buffer: chunk)
                    while let end = pending.range(of: "\n\n") {
                        let block = String(pending[..<end.lowerBound])
                        pending = String(pending[end.upperBound...])
                        var name = "message", id: String?, data: [String] = []
                        for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                            if line.hasPrefix(":") { continue }
                            if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                            if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                            if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
                        }
                        if !data.isEmpty { continuation.yield(SSEEvent(name: name, id: id, data: data.joined(separator: "\n"))) }
                    }
                }
            } catch {}
        }
        continuation.onTermination = { _ in reader.cancel() }
        return SSEStream(status: Int(response.status.code), events: events, errorBody: nil, reader: reader)
    }

    /// Every event until the stream ends (after `done`), within `timeout`.
    func all(within timeout: Duration = .seconds(60)) async throws -> [SSEEvent] {
        let events = events
        return try await withThrowingTaskGroup(of: [SSEEvent].self) { group in
            group.addTask {
                var collected: [SSEEvent] = []
                for await event in events { collected.append(event) }
                return collected
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw TestSetupError("the stream did not end within \(timeout)")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// Reads until `predicate` holds for an event, returning the events read so far (that one included).
    func read(until predicate: @escaping @Sendable (SSEEvent) -> Bool, within timeout: Duration = .seconds(60)) async throws -> [SSEEvent] {
        let events = events
        let seen = Seen()
        return try await withThrowingTaskGroup(of: [SSEEvent].self) { group in
            group.addTask {
                var collected: [SSEEvent] = []
                for await event in events {
                    collected.append(event)
                    seen.names.withLock { $0.append(event.name) }
                    if predicate(event) { return collected }
                }
                throw TestSetupError("the stream ended before the expected event: \(collected.map(\.name))")
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw TestSetupError("no expected event within \(timeout), after \(seen.names.withLock { $0 })")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    private final class Seen: Sendable {
        let names = Mutex<[String]>([])
    }

    func close() {
        reader?.cancel()
    }
}

extension [SSEEvent] {
    /// The text of every `delta`, joined.
    var text: String { filter { $0.name == "delta" }.compactMap { $0.json["text"] as? String }.joined() }
    func first(_ name: String) -> SSEEvent? { first { $0.name == name } }
}
