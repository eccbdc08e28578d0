import HTTPTypes
import Hummingbird
import NIOCore

/// The proxies whose forwarding headers are believed (`TRUSTED_PROXIES`): the TLS-terminating nginx in front of the
/// backends. From anyone else `X-Forwarded-Proto: https` is ignored (it would turn on HSTS and Secure cookies for a
/// client that speaks plain HTTP), and so is `X-Forwarded-For` (a client would choose the address its login attempts
/// are limited and audited under).
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

    /// Who sent the request: behind a trusted proxy, the right-most `X-Forwarded-For` address that is not itself a
    /// trusted proxy (each proxy appends the address it received the request from; what lies left of it is whatever
    /// the client wrote); otherwise the peer. An address that cannot be read leaves the peer.
    func client(_ request: Request, peer: SocketAddress?) -> SocketAddress? {
        guard let address = peer?.ipAddress, addresses.contains(address) else { return peer }
        let hops = request.headers[values: Self.forwardedFor].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() where !addresses.contains(hop) {
            return (try? SocketAddress(ipAddress: hop, port: 0)) ?? peer
        }
        return peer
    }

    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
}

extension AppRequestContext {
    func isSecure(_ request: Request, behind proxies: TrustedProxies) -> Bool { proxies.isSecure(request, peer: remoteAddress) }
}

extension AuthenticatedContext {
    func isSecure(_ request: Request, behind proxies: TrustedProxies) -> Bool { proxies.isSecure(request, peer: remoteAddress) }
}
