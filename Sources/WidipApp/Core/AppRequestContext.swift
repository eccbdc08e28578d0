import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// Per-request state: the peer address, and the identity once the session middleware found one. WebSocket upgrades
/// go through the same router and middleware as every other request.
public struct AppRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?
    /// The Phase 1 workflow whose token the request presented (never set together with `identity`).
    public var workflow: String?
    /// The connection's peer: the client, or a proxy in front of this server.
    public let remoteAddress: SocketAddress?
    /// The client: the peer, or the client a trusted proxy forwarded for (`TRUSTED_PROXIES`), set by the first
    /// middleware. Rate limits, sessions and the audit log record this one.
    public var clientAddress: SocketAddress?
    public let webSocket: WebSocketHandlerReference<AppRequestContext>
    /// The connection, for the WebSocket upgrade check to report a refusal's status on (`WebSocketUpgradeCheck`).
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
        self.remoteAddress = source.channel.remoteAddress
        self.clientAddress = source.channel.remoteAddress
        self.webSocket = .init()
    }

    /// JSON bodies of this product are small; a larger one is refused with 413 before it is read.
    public var maxUploadSize: Int { 256 * 1024 }
}

/// The context of routes that need a signed-in user: a handler there cannot run without one.
public struct AuthenticatedContext: ChildRequestContext {
    public typealias ParentContext = AppRequestContext
    public var coreContext: CoreRequestContextStorage
    public let identity: Identity
    public let remoteAddress: SocketAddress?
    public let clientAddress: SocketAddress?

    public init(context: AppRequestContext) throws {
        guard let identity = context.identity else { throw AppError.notAuthenticated }
        self.coreContext = context.coreContext
        self.identity = identity
        self.remoteAddress = context.remoteAddress
        self.clientAddress = context.clientAddress
    }

    public var maxUploadSize: Int { 256 * 1024 }
    public var user: User { identity.user }
}

extension Request {
    func clientInfo(address: SocketAddress?) -> ClientInfo {
        ClientInfo(ipAddress: address?.ipAddress, userAgent: headers[.userAgent])
    }
}

extension AppRequestContext {
    func client(of request: Request) -> ClientInfo { request.clientInfo(address: clientAddress) }
}

extension AuthenticatedContext {
    func client(of request: Request) -> ClientInfo { request.clientInfo(address: clientAddress) }
}
