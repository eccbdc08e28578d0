import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Delivers each final outcome to the `callback_url` its workflow gave, signed with that workflow's token, and retries
/// with growing delays until the workflow answers 2xx. Outcomes are queued in `safeguard_callbacks` by the database
/// (migration 0005) in the transaction of the change, so none is lost when an instance stops.
///
/// The signature: `X-Widip-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(token, "<t>.<body>")>`.
struct CallbackSender: Service {
    let queue: CallbackQueue
    let httpClient: HTTPClient
    let workflows: WorkflowTokens
    /// Woken when a request reaches an outcome.
    let signal: WakeSignal
    let ready: DatabaseReady
    let logger: Logger
    var longestSleep: Duration = .seconds(15)

    /// 2 s, 4 s, 8 s … up to an hour; abandoned after this many attempts (about a day).
    static let maximumAttempts = 30

    func run() async throws {
        try await runRounds(ready: ready, signal: signal, longestSleep: longestSleep, logger: logger, failure: "SAFEGUARD callbacks failed a round; retrying") { try await deliverDue() }
    }

    /// Delivers what is due; returns when the next undelivered callback is due.
    @discardableResult
    func deliverDue() async throws -> Date? {
        let due = try await queue.claimDue()
        await withTaskGroup(of: Void.self) { group in
            for callback in due { group.addTask { await deliver(callback) } }
        }
        return try await queue.nextDue()
    }

    private func deliver(_ callback: CallbackQueue.Due) async {
        var failure: String?
        do {
            var request = HTTPClientRequest(url: callback.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "widip-safeguard")
            if let workflow = callback.workflow, let token = workflows.token(of: workflow) {
                request.headers.add(name: "X-Widip-Signature", value: Self.signature(body: callback.payload, token: token, at: Date()))
            }
            request.body = .bytes(ByteBuffer(string: callback.payload))
            let response = try await httpClient.execute(request, timeout: .seconds(10))
            if !(200..<300).contains(response.status.code) { failure = "HTTP \(response.status.code)" }
        } catch {
            failure = String(String(describing: error).prefix(300))
        }
        do {
            try await queue.settle(
                callback.id, failure: failure, abandon: failure != nil && callback.attempts >= Self.maximumAttempts,
                retryAfter: Double(min(3600, 1 << min(callback.attempts, 12)))
            )
        } catch {
            logger.warning("SAFEGUARD callback result not recorded", metadata: ["id": "\(callback.id)", "error": "\(String(reflecting: error))"])
        }
        if let failure {
            logger.info("SAFEGUARD callback not delivered", metadata: ["id": "\(callback.id)", "attempt": "\(callback.attempts)", "error": "\(failure)"])
        }
    }

    static func signature(body: String, token: String, at date: Date) -> String {
        let timestamp = String(Int(date.timeIntervalSince1970))
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(token.utf8)))
        return "t=\(timestamp),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }
}
