import AsyncHTTPClient
import Foundation
import Logging
import MCP
import NIOCore
import NIOHTTP1
import NIOPosix

/// Why a message did not reach the MCP server or got no usable answer, as the transport sees it.
enum MCPTransportFailure: Error, Sendable {
    /// No connection could be made: the request was certainly not processed.
    case unreachable(String)
    /// The connection broke after the request left: the server may or may not have processed it.
    case connectionLost(String)
    /// The server no longer knows our `Mcp-Session-Id` (restart or expiry): the request was not processed.
    case sessionExpired
    /// 401/403: the server refused our credentials.
    case unauthorized(Int)
    /// Any other HTTP failure, with the server's own message when it sent one.
    case httpStatus(Int, String?)
    /// The reply could not be read (broken stream, oversized body, unexpected content type).
    case badReply(String)
}

/// MCP's streamable HTTP transport on AsyncHTTPClient. The SDK's own client transport cannot read SSE replies on
/// Linux, and most servers answer POSTs that way; this one reads both `application/json` and `text/event-stream`
/// replies, keeps the `Mcp-Session-Id`, and listens on the optional GET stream for server notifications
/// (`tools/list_changed`).
actor StreamableHTTPClientTransport: MCP.Transport {
    nonisolated let logger: Logger
    private let endpoint: String
    private let httpClient: HTTPClient
    private let apiKey: String?
    /// Ceiling for one POST, body included; the caller's own timeout is usually shorter.
    private let requestTimeout: TimeAmount
    private let maxReplyBytes = 16 << 20

    private var sessionID: String?
    private var protocolVersion: String?
    private var closed = false
    private var notificationListener: Task<Void, Never>?
    private let incoming: AsyncThrowingStream<Data, any Error>
    private let incomingContinuation: AsyncThrowingStream<Data, any Error>.Continuation

    init(endpoint: String, httpClient: HTTPClient, apiKey: String?, requestTimeout: Duration, logger: Logger) {
        self.endpoint = endpoint
        self.httpClient = httpClient
        self.apiKey = apiKey
        self.requestTimeout = .nanoseconds(Int64(requestTimeout.components.seconds) * 1_000_000_000 + requestTimeout.components.attoseconds / 1_000_000_000)
        self.logger = logger
        (incoming, incomingContinuation) = AsyncThrowingStream<Data, any Error>.makeStream()
    }

    func connect() async throws {}

    func receive() -> AsyncThrowingStream<Data, any Error> { incoming }

    /// Ends the session: stops listening, tells the server (best effort) and finishes the message stream.
    func disconnect() async {
        guard !closed else { return }
        closed = true
        notificationListener?.cancel()
        notificationListener = nil
        if let sessionID {
            var request = makeRequest(method: .DELETE)
            request.headers.replaceOrAdd(name: "Mcp-Session-Id", value: sessionID)
            _ = try? await httpClient.execute(request, timeout: .seconds(2))
        }
        incomingContinuation.finish()
    }

    func send(_ data: Data) async throws {
        guard !closed else { throw MCPTransportFailure.unreachable("session MCP fermée") }
        var request = makeRequest(method: .POST)
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "Accept", value: "application/json, text/event-stream")
        request.body = .bytes(ByteBuffer(bytes: data))
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: requestTimeout)
        } catch {
            throw Self.classify(error)
        }
        if let assigned = response.headers.first(name: "Mcp-Session-Id"), !assigned.isEmpty { sessionID = assigned }

        switch response.status.code {
        case 202, 204:
            _ = try? await response.body.collect(upTo: 64 * 1024)
        case 200..<300:
            try await readReply(response)
        case 404 where sessionID != nil:
            throw MCPTransportFailure.sessionExpired
        case 401, 403:
            throw MCPTransportFailure.unauthorized(Int(response.status.code))
        default:
            let body = try? await response.body.collect(upTo: 64 * 1024)
            throw MCPTransportFailure.httpStatus(Int(response.status.code), body.flatMap(Self.jsonRPCErrorMessage))
        }
        if Self.isInitializedNotification(data) { startNotificationListener() }
    }

    private func makeRequest(method: HTTPMethod) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: endpoint)
        request.method = method
        if let sessionID { request.headers.replaceOrAdd(name: "Mcp-Session-Id", value: sessionID) }
        if let protocolVersion { request.headers.replaceOrAdd(name: "MCP-Protocol-Version", value: protocolVersion) }
        if let apiKey { request.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(apiKey)") }
        return request
    }

    private func readReply(_ response: HTTPClientResponse) async throws {
        let contentType = response.headers.first(name: "Content-Type")?.lowercased() ?? ""
        do {
            if contentType.hasPrefix("text/event-stream") {
                var parser = ServerSentEventParser()
                for try await chunk in response.body {
                    for message in parser.feed(chunk) { deliver(message) }
                }
                for message in parser.finish() { deliver(message) }
            } else if contentType.hasPrefix("application/json") {
                let body = try await response.body.collect(upTo: maxReplyBytes)
                if body.readableBytes > 0 { deliver(Data(buffer: body)) }
            } else {
                throw MCPTransportFailure.badReply("type de contenu inattendu « \(contentType) »")
            }
        } catch let failure as MCPTransportFailure {
            throw failure
        } catch {
            throw MCPTransportFailure.badReply(String(describing: error))
        }
    }

    private func deliver(_ message: Data) {
        if protocolVersion == nil, let version = Self.negotiatedVersion(in: message) { protocolVersion = version }
        incomingContinuation.yield(message)
    }

    /// Listens for server-initiated messages on the session's GET stream, reconnecting while the session lives. A
    /// server without that stream answers 405, and then we stop asking.
    private func startNotificationListener() {
        guard notificationListener == nil, !closed else { return }
        notificationListener = Task { [weak self] in
            var backoff: Duration = .milliseconds(500)
            while !Task.isCancelled, let self {
                let keepListening = await self.listenOnce()
                guard keepListening, !Task.isCancelled else { return }
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    /// One GET stream; returns whether listening again makes sense.
    private func listenOnce() async -> Bool {
        guard !closed, sessionID != nil else { return false }
        var request = makeRequest(method: .GET)
        request.headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
        do {
            let response = try await httpClient.execute(request, deadline: .distantFuture)
            guard response.status == .ok else {
                _ = try? await response.body.collect(upTo: 64 * 1024)
                // 404: the session is gone and the next call will find out; 405: no such stream on this server.
                return ![404, 405].contains(response.status.code)
            }
            var parser = ServerSentEventParser()
            for try await chunk in response.body {
                for message in parser.feed(chunk) { deliver(message) }
            }
            return true
        } catch {
            return !closed
        }
    }

    static func classify(_ error: any Error) -> MCPTransportFailure {
        if let failure = error as? MCPTransportFailure { return failure }
        // Connection-level failures mean nothing was sent; anything later (a reset mid-reply) may have been processed.
        switch error {
        case let error as HTTPClientError where error == .connectTimeout:
            return .unreachable("délai de connexion dépassé")
        case is NIOConnectionError:
            return .unreachable("connexion refusée")
        case let error as IOError where [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH].contains(error.errnoCode):
            return .unreachable("connexion refusée")
        case let error as HTTPClientError where error == .deadlineExceeded:
            return .badReply("délai de réponse dépassé")
        case let error as HTTPClientError where [.remoteConnectionClosed, .readTimeout].contains(error):
            return .connectionLost("connexion interrompue pendant l'appel")
        case is ChannelError, is IOError:
            return .connectionLost("connexion interrompue pendant l'appel")
        default:
            return .badReply(String(reflecting: error))
        }
    }

    private static func isInitializedNotification(_ data: Data) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return object["method"] as? String == "notifications/initialized"
    }

    private static func negotiatedVersion(in message: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: message) as? [String: Any],
            let result = object["result"] as? [String: Any], result["serverInfo"] != nil
        else { return nil }
        return result["protocolVersion"] as? String
    }

    private static func jsonRPCErrorMessage(_ body: ByteBuffer) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
            let error = object["error"] as? [String: Any]
        else { return nil }
        return error["message"] as? String
    }
}

/// Incremental `text/event-stream` parser: yields the data of each `message` event (the default type), joining
/// multi-line data, across arbitrary chunk boundaries.
struct ServerSentEventParser {
    private var pending = [UInt8]()
    private var eventType: String?
    private var dataLines = [String]()

    mutating func feed(_ chunk: ByteBuffer) -> [Data] {
        pending.append(contentsOf: chunk.readableBytesView)
        var messages = [Data]()
        while let newline = pending.firstIndex(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
            var line = Array(pending[..<newline])
            var consumed = newline + 1
            if pending[newline] == UInt8(ascii: "\r") {
                // A lone CR at the chunk's end may be the first half of CRLF: wait for the next chunk.
                if consumed == pending.count { break }
                if pending[consumed] == UInt8(ascii: "\n") { consumed += 1 }
            }
            pending.removeFirst(consumed)
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if let message = take(line: String(decoding: line, as: UTF8.self)) { messages.append(message) }
        }
        return messages
    }

    mutating func finish() -> [Data] {
        var messages = [Data]()
        if !pending.isEmpty, let message = take(line: String(decoding: pending, as: UTF8.self)) { messages.append(message) }
        pending.removeAll()
        if let message = take(line: "") { messages.append(message) }
        return messages
    }

    private mutating func take(line: String) -> Data? {
        if line.isEmpty {
            defer { eventType = nil; dataLines.removeAll() }
            guard !dataLines.isEmpty, eventType == nil || eventType == "message" else { return nil }
            let data = dataLines.joined(separator: "\n")
            return data.trimmingCharacters(in: .whitespaces).isEmpty ? nil : Data(data.utf8)
        }
        if line.hasPrefix(":") { return nil }
        let field: Substring, value: Substring
        if let colon = line.firstIndex(of: ":") {
            field = line[..<colon]
            let rest = line[line.index(after: colon)...]
            value = rest.first == " " ? rest.dropFirst() : rest
        } else {
            field = Substring(line)
            value = ""
        }
        switch field {
        case "data": dataLines.append(String(value))
        case "event": eventType = String(value)
        default: break
        }
        return nil
    }
}
