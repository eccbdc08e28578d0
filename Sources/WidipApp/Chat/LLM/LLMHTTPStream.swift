import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A streamed POST to a model server, watched for silence: a provider that stops sending (a stalled GPU, a proxy that
/// buffers) ends the answer with a clear error after `stallTimeout` instead of holding it until the mode's limit.
struct LLMHTTPStream: Sendable {
    let httpClient: HTTPClient
    let stallTimeout: Duration
    /// How the provider is named to users in error messages (« Ollama (http://gpu:11434) »).
    let label: String

    /// Posts `body` to `url` and hands every chunk of the reply body to `receive` as it arrives. Cancelling the
    /// caller closes the connection, which is how a provider learns that nobody reads any more.
    func post(
        _ url: String, headers: HTTPHeaders, body: ByteBuffer, receive: @escaping @Sendable (ByteBuffer) async throws -> Void
    ) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.body = .bytes(body)
        let prepared = request
        let activity = Activity()
        let client = httpClient
        let label = label
        let stallTimeout = stallTimeout
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let response: HTTPClientResponse
                    do {
                        response = try await client.execute(prepared, deadline: .distantFuture)
                    } catch where Self.closedBeforeAnswering(error) {
                        // A keep-alive connection the server closed just as it was reused (llama-server does so
                        // between rounds of the assistant's tool loop): the request never reached it, so it is sent
                        // once more on a new connection.
                        response = try await client.execute(prepared, deadline: .distantFuture)
                    }
                    activity.touch()
                    guard (200..<300).contains(response.status.code) else {
                        let text = try? await response.body.collect(upTo: 64 * 1024)
                        throw Self.refusal(status: Int(response.status.code), body: text, label: label)
                    }
                    for try await chunk in response.body {
                        activity.touch()
                        try await receive(chunk)
                    }
                }
                group.addTask {
                    let check = Duration.milliseconds(max(50, stallTimeout.milliseconds / 4))
                    while true {
                        try await Task.sleep(for: check)
                        if activity.silence > stallTimeout {
                            throw LLMFailure(kind: .stalled, message: "\(label.atSentenceStart) ne répond plus depuis \(stallTimeout.frenchSeconds) : réponse abandonnée.")
                        }
                    }
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        } catch let failure as LLMFailure {
            throw failure
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw Self.classify(error, label: label)
        }
    }

    /// A GET that only checks the server answers 2xx, for the health page.
    func answers(_ url: String, headers: HTTPHeaders) async -> Bool {
        var request = HTTPClientRequest(url: url)
        request.headers = headers
        guard let response = try? await httpClient.execute(request, timeout: .seconds(3)) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 20)
        return (200..<300).contains(response.status.code)
    }

    static func refusal(status: Int, body: ByteBuffer?, label: String) -> LLMFailure {
        // OpenAI-style `{"error":{"message":…}}`, Ollama's `{"error":"…"}`, Mistral's `{"message":…}`.
        var detail: String?
        if let body, let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] {
            if let error = object["error"] as? [String: Any] { detail = error["message"] as? String }
            if detail == nil { detail = (object["error"] as? String) ?? (object["message"] as? String) }
        }
        let reason: String =
            switch status {
            case 401, 403: "clé d'API refusée"
            case 404: "modèle ou adresse inconnus"
            case 429: "trop de demandes, réessayez dans un instant"
            case 500...: "erreur du serveur"
            default: "demande refusée"
            }
        let suffix = detail.map { " : \(String($0.prefix(300)))" } ?? ""
        return LLMFailure(kind: .refused(status: status), message: "\(label.atSentenceStart) a répondu HTTP \(status) (\(reason))\(suffix).")
    }

    /// Whether the connection was found closed before the request could be answered at all.
    static func closedBeforeAnswering(_ error: any Error) -> Bool {
        switch error {
        case let error as ChannelError: error == .ioOnClosedChannel || error == .eof || error == .outputClosed
        case let error as HTTPClientError: error == .remoteConnectionClosed
        default: false
        }
    }

    static func classify(_ error: any Error, label: String) -> LLMFailure {
        switch error {
        case is NIOConnectionError:
            return LLMFailure(kind: .unreachable, message: "\(label.atSentenceStart) est injoignable : vérifiez qu'il tourne et son adresse.")
        case let error as HTTPClientError where error == .connectTimeout:
            return LLMFailure(kind: .unreachable, message: "\(label.atSentenceStart) est injoignable : vérifiez qu'il tourne et son adresse.")
        case let error as HTTPClientError where error == .getConnectionFromPoolTimeout:
            return LLMFailure(kind: .unreachable, message: "\(label.atSentenceStart) n'a pas pu être joint à temps : trop de réponses en cours vers lui.")
        case let error as IOError where [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH].contains(error.errnoCode):
            return LLMFailure(kind: .unreachable, message: "\(label.atSentenceStart) est injoignable : vérifiez qu'il tourne et son adresse.")
        default:
            return LLMFailure(kind: .interrupted, message: "La connexion avec \(label) a été coupée pendant la réponse (\(String(describing: error).prefix(200))).")
        }
    }

    /// When the provider last sent something.
    final class Activity: Sendable {
        private let last = Atomic<UInt64>(DispatchTime.now().uptimeNanoseconds)
        func touch() { last.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed) }
        var silence: Duration { .nanoseconds(Int64(DispatchTime.now().uptimeNanoseconds &- last.load(ordering: .relaxed))) }
    }
}

/// Splits a byte stream into lines (Ollama's NDJSON), across chunk boundaries.
struct LineSplitter {
    private var pending = [UInt8]()

    mutating func feed(_ chunk: ByteBuffer) -> [ArraySlice<UInt8>] {
        pending.append(contentsOf: chunk.readableBytesView)
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            if newline > start { lines.append(pending[start..<newline]) }
            start = newline + 1
        }
        // The slices keep their own copy of the storage; dropping the prefix does not change them.
        pending.removeFirst(start)
        return lines
    }

    mutating func finish() -> [ArraySlice<UInt8>] {
        defer { pending.removeAll() }
        return pending.contains(where: { !Character(UnicodeScalar($0)).isWhitespace }) ? [pending[...]] : []
    }
}
