import HTTPTypes
import Hummingbird
import NIOCore

/// The proxies whose forwarding headers are believed (`TRUSTED_PROXIES`): the TLS-terminating nginx in front of the
/// backends. From anyone else `X-Forwarded-Proto: https` is ignored: it would turn on HSTS and Secure cookies for a
/// client that speaks plain HTTP.
public struct TrustedProxies: Sendable, Equatable {
    /// IP addresses, as a connection's peer address reads.
    public var addresses: Set<String>

    public init(addresses: Set<String> = []) {
        self.addresses = addresses
    }

    /// The request reached the client over TLS: this server's own, or a trusted proxy's that says so.
    func isSecure(_ request: Request, peer: SocketAddress?) -> Bool {
        if request.head.scheme == "https" { return true }
        guard let address = peer?.ipAddress, addresses.contains(address) else { return false }
        return request.headers[Self.forwardedProto]?.lowercased() == "https"
    }

    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
}

extension AppRequestContext {
    func isSecure(_ request: Request, behind proxies: TrustedProxies) -> Bool { proxies.isSecure(request, peer: remoteAddress) }
}

extension AuthenticatedContext {
    func isSecure(_ request: Request, behind proxies: TrustedProxies) -> Bool { proxies.isSecure(request, peer: remoteAddress) }
}
