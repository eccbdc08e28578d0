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
    /// POSTs waiting for their reply, by JSON-RPC request id.
    private var postsInFlight: [String: Task<Void, any Error>] = [:]
    private var cancelledBeforePosting: Set<String> = []
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
        for post in postsInFlight.values { post.cancel() }
        if let sessionID {
            var request = makeRequest(method: .DELETE)
            request.headers.replaceOrAdd(name: "Mcp-Session-Id", value: sessionID)
            _ = try? await httpClient.execute(request, timeout: .seconds(2))
        }
        incomingContinuation.finish()
    }

    /// Posts one JSON-RPC message. A request's POST is cancelled when its `notifications/cancelled` goes out (the
    /// SDK sends requests from tasks of its own, which the caller's timeout cannot reach), and a request cancelled
    /// before it was posted is never posted.
    func send(_ data: Data) async throws {
        guard !closed else { throw MCPTransportFailure.unreachable("session MCP fermée") }
        let message = OutgoingMessage(data)
        switch message {
        case .request(let id):
            if cancelledBeforePosting.remove(id) != nil { throw CancellationError() }
            let post = Task { try await self.post(data, answering: id) }
            postsInFlight[id] = post
            defer { postsInFlight[id] = nil }
            try await withTaskCancellationHandler { try await post.value } onCancel: { post.cancel() }
        case .cancellation(let id):
            if let post = postsInFlight[id] {
                post.cancel()
            } else if cancelledBeforePosting.count < 256 {
                // Usually a request that already finished; a bounded set keeps the rare early cancellation.
                cancelledBeforePosting.insert(id)
            }
            try await post(data, answering: nil)
        case .initialized:
            try await post(data, answering: nil)
            startNotificationListener()
        case .other:
            try await post(data, answering: nil)
        }
    }

    /// One POST, its reply read within `requestTimeout`: AsyncHTTPClient's own deadline stops at the response head,
    /// and an SSE reply can stay open after its answer (the SDK's server keeps it open for a cancelled request).
    private func post(_ data: Data, answering requestID: String?) async throws {
        var request = makeRequest(method: .POST)
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "Accept", value: "application/json, text/event-stream")
        request.body = .bytes(ByteBuffer(bytes: data))
        let deadline = NIODeadline.now() + requestTimeout
        let response = try await execute(request, deadline: deadline)
        if let assigned = response.headers.first(name: "Mcp-Session-Id"), !assigned.isEmpty { sessionID = assigned }

        switch response.status.code {
        case 202, 204:
            _ = try? await response.body.collect(upTo: 64 * 1024)
        case 200..<300:
            try await readReply(response, answering: requestID, within: deadline)
        case 404 where sessionID != nil:
            throw MCPTransportFailure.sessionExpired
        case 401, 403:
            throw MCPTransportFailure.unauthorized(Int(response.status.code))
        default:
            let body = try? await response.body.collect(upTo: 64 * 1024)
            throw MCPTransportFailure.httpStatus(Int(response.status.code), body.flatMap(Self.jsonRPCErrorMessage))
        }
    }

    /// Sends once more, after 100 ms, a request whose connection was refused. With its own retries turned off (a
    /// down server must fail a call at once), AsyncHTTPClient fails every request waiting for a connection when one
    /// attempt is refused, so a request can be refused by an attempt made for another before the server came back:
    /// the DELETE of a retired session, after a restart. Nothing was sent, so this is safe for any request.
    private func execute(_ request: HTTPClientRequest, deadline: NIODeadline) async throws -> HTTPClientResponse {
        do {
            return try await httpClient.execute(request, deadline: deadline)
        } catch where Self.wasRefused(error) {
            logger.debug("MCP connection refused, trying once more")
            try await Task.sleep(for: .milliseconds(100))
        } catch {
            throw Self.classify(error)
        }
        do {
            return try await httpClient.execute(request, deadline: deadline)
        } catch {
            throw Self.classify(error)
        }
    }

    private func makeRequest(method: HTTPMethod) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: endpoint)
        request.method = method
        if let sessionID { request.headers.replaceOrAdd(name: "Mcp-Session-Id", value: sessionID) }
        if let protocolVersion { request.headers.replaceOrAdd(name: "MCP-Protocol-Version", value: protocolVersion) }
        if let apiKey { request.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(apiKey)") }
        return request
    }

    /// Delivers the reply's messages; an SSE stream is left as soon as it has carried the answer to `requestID`.
    private func readReply(_ response: HTTPClientResponse, answering requestID: String?, within deadline: NIODeadline) async throws {
        let contentType = response.headers.first(name: "Content-Type")?.lowercased() ?? ""
        let limit = maxReplyBytes
        do {
            if contentType.hasPrefix("text/event-stream") {
                let messages = try await withTimeout(.nanoseconds((deadline - .now()).nanoseconds)) {
                    var parser = ServerSentEventParser()
                    var received = 0
                    var messages: [Data] = []
                    for try await chunk in response.body {
                        received += chunk.readableBytes
                        guard received <= limit else { throw MCPTransportFailure.badReply("réponse de plus de \(limit >> 20) Mio") }
                        let parsed = parser.feed(chunk)
                        messages += parsed
                        if let requestID, parsed.contains(where: { IncomingMessage.isAnswer($0, to: requestID) }) { return messages }
                    }
                    return messages + parser.finish()
                }
                for message in messages { deliver(message) }
            } else {
                let body = try await response.body.collect(upTo: limit)
                guard body.readableBytes > 0 else { return }
                guard contentType.hasPrefix("application/json") else {
                    throw MCPTransportFailure.badReply("type de contenu inattendu « \(contentType) »")
                }
                deliver(Data(buffer: body))
            }
        } catch let failure as MCPTransportFailure {
            throw failure
        } catch is CancellationError where !Task.isCancelled {
            throw MCPTransportFailure.badReply("réponse inachevée après \(requestTimeout.nanoseconds / 1_000_000_000) s")
        } catch {
            throw Self.classify(error)
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
        case _ where wasRefused(error):
            return .unreachable("connexion refusée")
        case let error as IOError where [EHOSTUNREACH, ENETUNREACH].contains(error.errnoCode):
            return .unreachable("réseau injoignable")
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

    private static func wasRefused(_ error: any Error) -> Bool {
        switch error {
        case is NIOConnectionError: true
        case let error as IOError: error.errnoCode == ECONNREFUSED
        default: false
        }
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

/// What the SDK asks the transport to post, as far as the transport cares.
enum OutgoingMessage: Equatable {
    case request(id: String)
    case cancellation(of: String)
    case initialized
    case other

    init(_ data: Data) {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            self = .other
            return
        }
        let method = object["method"] as? String
        if let id = object["id"].flatMap(IncomingMessage.idText), method != nil {
            self = .request(id: id)
        } else if method == "notifications/cancelled", let params = object["params"] as? [String: Any],
            let id = params["requestId"].flatMap(IncomingMessage.idText)
        {
            self = .cancellation(of: id)
        } else if method == "notifications/initialized" {
            self = .initialized
        } else {
            self = .other
        }
    }
}

enum IncomingMessage {
    /// JSON-RPC ids are strings or numbers; both sides compare them as text.
    static func idText(_ value: Any) -> String? {
        switch value {
        case let text as String: text
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }

    /// Whether `data` is the response (result or error) to request `id`.
    static func isAnswer(_ data: Data, to id: String) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["method"] == nil,
            object["result"] != nil || object["error"] != nil
        else { return false }
        return object["id"].flatMap(idText) == id
    }
}
