import Foundation
import HummingbirdBcrypt
import NIOPosix

/// bcrypt, run on a thread pool: a hash costs ~200 ms of CPU at cost 12 and must never block the cooperative pool.
public struct PasswordHasher: Sendable {
    /// What a bcrypt hash looks like (`$2a$`, `$2b$`, PHP's `$2y$`); anything else in `users.password` is a Phase 1 plaintext.
    public static let bcryptPattern = #"^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$"#

    let cost: Int
    let threadPool: NIOThreadPool
    /// Verified when the user does not exist, so an unknown name takes as long as a wrong password.
    let dummyHash: String

    public init(cost: Int, threadPool: NIOThreadPool) {
        self.cost = cost
        self.threadPool = threadPool
        self.dummyHash = Bcrypt.hash("widip-dummy-password", cost: UInt8(cost))
    }

    public static func isBcryptHash(_ stored: String) -> Bool {
        stored.range(of: bcryptPattern, options: .regularExpression) != nil
    }

    /// True for what should be re-hashed after a successful login: a plaintext, a foreign flavour, or another cost
    /// (a cheaper imported hash would also answer faster than the dummy check, telling which names exist).
    public func needsRehash(_ stored: String) -> Bool {
        guard Self.isBcryptHash(stored), stored.hasPrefix("$2b$") else { return true }
        return Int(stored.dropFirst(4).prefix(2)) != cost
    }

    public func hash(_ password: String) async throws -> String {
        let cost = UInt8(self.cost)
        return try await threadPool.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Checks a password against what `users.password` holds: a bcrypt hash of any flavour, or a legacy plaintext
    /// (compared in constant time, after a dummy bcrypt check so legacy rows answer as slowly as the others).
    public func verify(_ password: String, against stored: String) async throws -> Bool {
        if Self.isBcryptHash(stored) {
            // Our bcrypt reads `$2y$` (PHP) hashes as mismatches, though the algorithm is the same as `$2b$`.
            let normalised = stored.hasPrefix("$2y$") ? "$2b$" + stored.dropFirst(4) : stored
            return try await threadPool.runIfActive { Bcrypt.verify(password, hash: normalised) }
        }
        _ = try await burnDummyCheck()
        return constantTimeEquals(password, stored)
    }

    /// Spends the time of one real check, for a login whose user does not exist or is inactive.
    @discardableResult
    public func burnDummyCheck() async throws -> Bool {
        let dummy = dummyHash
        return try await threadPool.runIfActive { Bcrypt.verify("not-the-password", hash: dummy) }
    }
}
