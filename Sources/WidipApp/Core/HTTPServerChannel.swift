import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// Time limits of a client connection.
public struct ConnectionTimeouts: Sendable, Equatable {
    /// A new connection must complete its first request head within this time (`HTTP_HEADER_TIMEOUT_SECONDS`).
    public var requestHead: Duration
    /// A keep-alive connection with no request in progress is closed after this time (`HTTP_IDLE_TIMEOUT_SECONDS`).
    /// WebSockets (pinged every 25 s) and responses still being written (event streams, long tool calls) are not idle.
    public var idle: Duration

    public init(requestHead: Duration = .seconds(10), idle: Duration = .seconds(60)) {
        self.requestHead = requestHead
        self.idle = idle
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with WebSocket upgrades through `router`, and the limits Hummingbird's upgradable pipeline lacks
    /// before a connection's first request head (see `FirstRequestGuard`).
    static func widip(
        router: Router<AppRequestContext>, webSocket: WebSocketServerConfiguration, timeouts: ConnectionTimeouts
    ) -> HTTPServerBuilder {
        let upgradeCheck = WebSocketUpgradeCheck(router: router.buildResponder())
        let configuration = HTTP1WebSocketUpgradeChannel.Configuration(http1: .init(idleTimeout: TimeAmount(timeouts.idle)), ws: webSocket)
        return HTTPServerBuilder { responder in
            GuardedHTTPChannel(
                inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: upgradeCheck, configuration: configuration),
                requestHeadTimeout: TimeAmount(timeouts.requestHead)
            )
        }
    }
}

/// Hummingbird's HTTP/1 + WebSocket channel with a `FirstRequestGuard` behind its HTTP decoder.
struct GuardedHTTPChannel: ServerChildChannel {
    let inner: HTTP1WebSocketUpgradeChannel
    let requestHeadTimeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1WebSocketUpgradeChannel.Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(FirstRequestGuard(requestHeadTimeout: requestHeadTimeout), position: .after(decoder))
            return value
        }
    }

    func handle(value: HTTP1WebSocketUpgradeChannel.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// Guards a connection until its first response head. Until a first request head is complete, Hummingbird's upgradable
/// pipeline has no idle timer, and a parse error reaches no one (the upgrade handler waits for a head that never
/// comes): a socket that sent nothing, half a head, an invalid request line or oversized headers was held open for
/// good. After the first response, Hummingbird's own idle timer and parse-error answer take over.
///
/// It also gives a refused WebSocket upgrade the status the router chose: Hummingbird answers every refusal 400.
final class FirstRequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let requestHeadTimeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var upgradeRefusal: HTTPResponseStatus?
    private var sawRequestHead = false
    private var answeredParseError = false

    init(requestHeadTimeout: TimeAmount) {
        self.requestHeadTimeout = requestHeadTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startDeadline(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startDeadline(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A client gone before its first request (a browser's unused preconnection): ended as "input closed", which
        // the upgrade handler reports quietly, rather than by removing it mid-negotiation, which is logged as an error.
        if !sawRequestHead { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The server is stopping: a connection that has not sent a whole request yet has nothing to finish.
        if event is ChannelShouldQuiesceEvent, !sawRequestHead {
            close(context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            sawRequestHead = true
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(var head) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        if let upgradeRefusal, head.status == .badRequest { head.status = upgradeRefusal }
        // Gone once the head is written, before the writer hears of it: an upgrade then puts WebSocket handlers
        // where this one was.
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { _ in context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
        if let promise { written.futureResult.cascade(to: promise) }
        context.write(wrapOutboundOut(.head(head)), promise: written)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Once a head has passed, Hummingbird's request loop owns the connection and answers parse errors itself.
        guard let parseError = error as? HTTPParserError, !sawRequestHead else {
            context.fireErrorCaught(error)
            return
        }
        guard !answeredParseError else { return }
        answeredParseError = true
        deadline?.cancel()
        let status: HTTPResponseStatus = parseError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: ["Connection": "close", "Content-Length": "0"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        // A lingering close: the answer, then the end of our side, while what the client is still sending is read and
        // dropped for a moment. Closing at once with unread bytes would send a reset, which can destroy the answer
        // before the client reads it.
        written.futureResult.assumeIsolated().whenComplete { _ in
            context.close(mode: .output, promise: nil)
            self.deadline = context.eventLoop.assumeIsolated().scheduleTask(in: Self.linger) { self.close(context) }
        }
    }

    static let linger: TimeAmount = .seconds(2)

    /// Called by `WebSocketUpgradeCheck` on this connection's event loop, before Hummingbird writes its refusal.
    func refuseUpgrade(with status: HTTPResponseStatus) {
        upgradeRefusal = status
    }

    private func startDeadline(_ context: ChannelHandlerContext) {
        guard deadline == nil else { return }
        // Closed without an answer, as nginx does at its client_header_timeout: an idle preconnected browser socket
        // expects no bytes.
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: requestHeadTimeout) { self.close(context) }
    }

    /// Closing through the upgrade handler's own "input closed" path ends its pending negotiation quietly; a plain
    /// close would log each one as an error.
    private func close(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
    }
}

@available(*, unavailable)
extension FirstRequestGuard: Sendable {}

/// Runs a WebSocket upgrade request through the router (sessions, levels, origins) and tells the connection's
/// `FirstRequestGuard` the status of a refusal: 401 without a session, 403 for another site's page or a level too low.
struct WebSocketUpgradeCheck<Router: HTTPResponder>: HTTPResponder where Router.Context == AppRequestContext {
    typealias Context = AppRequestContext
    let router: Router

    func respond(to request: Request, context: AppRequestContext) async throws -> Response {
        do {
            let response = try await router.respond(to: request, context: context)
            if response.status != .ok { report(response.status, on: context.channel) }
            return response
        } catch let error as any HTTPResponseError {
            report(error.status, on: context.channel)
            throw error
        }
    }

    private func report(_ status: HTTPResponse.Status, on channel: any Channel) {
        // Queued before the router's answer completes the upgrade negotiation on the same event loop, so the guard
        // knows the status before Hummingbird writes its 400.
        channel.eventLoop.execute {
            try? channel.pipeline.syncOperations.handler(type: FirstRequestGuard.self).refuseUpgrade(with: HTTPResponseStatus(statusCode: status.code))
        }
    }
}
