import Crypto
import Foundation
import JWTKit

/// The claims of an access token (PRD 6.3), with `exp` in whole seconds so any JWT library reads it.
public struct SessionClaims: JWTPayload, Equatable {
    public var sub: String
    public var username: String
    public var role: String
    public var accreditationLevel: String
    public var exp: Int
    public var iat: Int
    public var jti: String

    enum CodingKeys: String, CodingKey {
        case sub, username, role, exp, iat, jti
        case accreditationLevel = "accreditation_level"
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        guard exp > Int(Date().timeIntervalSince1970) else {
            throw JWTError.claimVerificationFailure(failedClaim: nil, reason: "expired")
        }
    }
}

/// Signs and verifies HS256 access tokens, and derives each session's CSRF token.
public struct TokenService: Sendable {
    let keys: JWTKeyCollection
    let secret: SymmetricKey
    public let lifetime: TimeInterval

    public init(secret: String, expireHours: Int) async {
        self.keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.secret = SymmetricKey(data: Data(secret.utf8))
        self.lifetime = TimeInterval(expireHours * 3600)
    }

    public func issue(for user: User, sessionID: UUID, now: Date = Date()) async throws -> (token: String, expiresAt: Date) {
        let issuedAt = Int(now.timeIntervalSince1970)
        let expiresAt = issuedAt + Int(lifetime)
        let claims = SessionClaims(
            sub: String(user.id), username: user.username, role: user.role, accreditationLevel: user.level.rawValue,
            exp: expiresAt, iat: issuedAt, jti: sessionID.uuidString.lowercased()
        )
        return (try await keys.sign(claims), Date(timeIntervalSince1970: TimeInterval(expiresAt)))
    }

    /// The verified claims, or nil for a malformed, tampered, `alg: none` or expired token.
    public func verify(_ token: String) async -> SessionClaims? {
        try? await keys.verify(token, as: SessionClaims.self)
    }

    /// A per-session token for forms and scripts: HMAC of the session id, so nothing needs storing.
    public func csrfToken(sessionID: UUID) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(("csrf:" + sessionID.uuidString.lowercased()).utf8), using: secret)
        return Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public func isValidCSRFToken(_ candidate: String, sessionID: UUID) -> Bool {
        constantTimeEquals(candidate, csrfToken(sessionID: sessionID))
    }
}
