import Foundation
import Hummingbird

extension Request {
    /// The token of an `Authorization: Bearer …` header (the scheme is case-insensitive, RFC 9110).
    var bearerToken: String? {
        guard let header = headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1])
    }

    /// The token of the session cookie, if the browser sent one.
    var sessionCookieToken: String? {
        guard let value = cookies[SessionCookie.name]?.value, !value.isEmpty else { return nil }
        return value
    }

    /// True when `origin` is this site or one of `trusted` (CORS_ORIGINS): the check against cross-site requests and
    /// cross-site WebSocket hijacking. The scheme is not compared: behind a TLS proxy that does not say so, the
    /// server only sees plain HTTP.
    func isFromTrusted(origin: String, trusted: Set<String>) -> Bool {
        if trusted.contains(origin) { return true }
        guard let components = URLComponents(string: origin), let host = components.host, let own = ownAuthority else { return false }
        return (host + (components.port.map { ":\($0)" } ?? "")).lowercased() == own
    }
}
