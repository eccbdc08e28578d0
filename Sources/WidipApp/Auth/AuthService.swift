import Foundation
import Logging
import PostgresNIO

/// The signed-in user behind a request, re-read from the database on every request (a demotion or a logout
/// elsewhere takes effect at once, whatever the token says).
public struct Identity: Sendable {
    public var user: User
    public var sessionID: UUID
    public var expiresAt: Date
    /// True when the token came from the session cookie: state-changing requests then need CSRF proof.
    public var viaCookie: Bool
}

public struct LoginResult: Sendable {
    public var token: String
    public var expiresAt: Date
    public var user: User
    public var sessionID: UUID
}

/// Login, logout and password changes (PRD 6.2–6.4).
public struct AuthService: Sendable {
    public static let loginAttemptsPerMinute = 5
    /// Blocked attempts from one address on one name within this time are one audit row with their count.
    public static let blockedLoginWindow: Duration = .seconds(15 * 60)
    static let invalidCredentials = AppError(.unauthorized, code: "invalid_credentials", "Identifiant ou mot de passe incorrect.")

    let client: PostgresClient
    let users: UserRepository
    let sessions: SessionRepository
    let audit: AuditRepository
    let hasher: PasswordHasher
    let tokens: TokenService
    let limiter: RateLimiter
    let logger: Logger

    public init(
        client: PostgresClient, users: UserRepository, sessions: SessionRepository, audit: AuditRepository, hasher: PasswordHasher,
        tokens: TokenService, limiter: RateLimiter, logger: Logger
    ) {
        self.client = client
        self.users = users
        self.sessions = sessions
        self.audit = audit
        self.hasher = hasher
        self.tokens = tokens
        self.limiter = limiter
        self.logger = logger
    }

    public func login(username rawUsername: String, password: String, client info: ClientInfo) async throws -> LoginResult {
        let username = rawUsername.trimmingCharacters(in: .whitespaces)
        // The limit comes first, so that no input, valid or not, writes more than a bounded number of audit rows.
        let attemptedName = Self.storableName(username)
        do {
            try await limiter.hit("login:\(info.ipAddress ?? "?"):\(attemptedName.lowercased())", limit: Self.loginAttemptsPerMinute)
        } catch let error as AppError {
            try await audit.recordRepeated(
                AuditEntry(userID: nil, action: "login_blocked", targetType: "user", targetID: attemptedName, details: ["username": .string(attemptedName)], client: info),
                window: Self.blockedLoginWindow
            )
            throw error
        }
        do {
            guard !username.isEmpty else { throw AppError.invalidField("username", "Saisissez votre identifiant.") }
            guard !password.isEmpty else { throw AppError.invalidField("password", "Saisissez votre mot de passe.") }
            guard username.unicodeScalars.count <= 100, !username.unicodeScalars.contains("\0") else { throw Self.invalidCredentials }
            guard password.utf8.count <= UserRules.maximumPasswordBytes else {
                throw AppError.invalidField("password", "Le mot de passe ne doit pas dépasser \(UserRules.maximumPasswordBytes) octets.")
            }
        } catch let error as AppError {
            try await audit.record(Self.failedLogin(userID: nil, username: username, reason: "invalid_input", client: info))
            throw error
        }

        guard let (user, stored) = try await users.credentials(username: username) else {
            try await hasher.burnDummyCheck()
            try await audit.record(Self.failedLogin(userID: nil, username: username, reason: "unknown_user", client: info))
            throw Self.invalidCredentials
        }
        let matches = try await hasher.verify(password, against: stored)
        guard matches, user.active else {
            try await audit.record(Self.failedLogin(userID: user.id, username: username, reason: matches ? "inactive" : "wrong_password", client: info))
            throw Self.invalidCredentials
        }

        let newHash = hasher.needsRehash(stored) ? try await hasher.hash(password) : nil
        let sessionID = UUID()
        let issued = try await tokens.issue(for: user, sessionID: sessionID)
        try await client.transaction(logger: logger) { connection in
            // The password was checked outside the transaction (bcrypt is slow): if an administrator reset it or
            // deactivated the account meanwhile, this login must not open a session.
            guard let current = try await users.lockCredentials(userID: user.id, on: connection), current.password == stored, current.active else {
                throw Self.invalidCredentials
            }
            var details: [String: JSONValue] = ["username": .string(user.username)]
            if let newHash, try await users.replacePassword(userID: user.id, expected: stored, hash: newHash, on: connection) {
                details[PasswordHasher.isBcryptHash(stored) ? "password_rehashed" : "legacy_password_rehashed"] = true
            }
            try await sessions.insert(id: sessionID, userID: user.id, expiresAt: issued.expiresAt, client: info, on: connection)
            try await users.recordLogin(userID: user.id, on: connection)
            try await audit.record(
                AuditEntry(
                    userID: user.id, action: "login", targetType: "session", targetID: sessionID.uuidString.lowercased(), details: .object(details), client: info
                ),
                on: connection
            )
        }
        var signedIn = user
        signedIn.lastLoginAt = Date()
        return LoginResult(token: issued.token, expiresAt: issued.expiresAt, user: signedIn, sessionID: sessionID)
    }

    /// Stored columns are bounded: an over-long attempted name is cut, never a reason to lose the row.
    static func storableName(_ username: String) -> String {
        String(String.UnicodeScalarView(username.unicodeScalars.prefix(100)).filter { $0 != "\0" })
    }

    static func failedLogin(userID: Int?, username: String, reason: String, client: ClientInfo) -> AuditEntry {
        let name = storableName(username)
        return AuditEntry(
            userID: userID, action: "login_failed", targetType: "user", targetID: userID.map(String.init) ?? name,
            details: ["username": .string(name), "reason": .string(reason)], client: client
        )
    }

    /// The identity behind a bearer token or session cookie, or nil when the token is invalid, expired or revoked.
    public func authenticate(token: String, viaCookie: Bool) async throws -> Identity? {
        guard let claims = await tokens.verify(token), let sessionID = UUID(uuidString: claims.jti) else { return nil }
        guard let (user, expiresAt) = try await sessions.activeUser(sessionID: sessionID), String(user.id) == claims.sub else { return nil }
        return Identity(user: user, sessionID: sessionID, expiresAt: expiresAt, viaCookie: viaCookie)
    }

    public func logout(_ identity: Identity, client info: ClientInfo) async throws {
        try await client.transaction(logger: logger) { connection in
            try await sessions.revoke(sessionID: identity.sessionID, on: connection)
            try await audit.record(
                AuditEntry(userID: identity.user.id, action: "logout", targetType: "session", targetID: identity.sessionID.uuidString.lowercased(), client: info),
                on: connection
            )
        }
    }

    /// Changes one's own password; the user's other sessions are revoked, this one stays. Wrong current passwords
    /// are audited and limited like logins, so a stolen session cannot be used to guess it.
    public func changePassword(_ identity: Identity, current: String, new: String, client info: ClientInfo) async throws {
        guard !current.isEmpty else { throw AppError.invalidField("current_password", "Saisissez votre mot de passe actuel.") }
        try UserRules.validatePassword(new, field: "new_password")
        try await limiter.hit("password:\(identity.user.id)", limit: Self.loginAttemptsPerMinute)
        let stored = try await client.withConnection { try await users.password(userID: identity.user.id, on: $0) }
        guard let stored, current.utf8.count <= UserRules.maximumPasswordBytes, try await hasher.verify(current, against: stored) else {
            try await audit.record(
                AuditEntry(userID: identity.user.id, action: "password_change_failed", targetType: "user", targetID: String(identity.user.id), client: info)
            )
            throw AppError.invalidField("current_password", "Le mot de passe actuel est incorrect.")
        }
        guard current != new else { throw AppError.invalidField("new_password", "Le nouveau mot de passe doit être différent de l'actuel.") }
        let hash = try await hasher.hash(new)
        try await client.transaction(logger: logger) { connection in
            guard try await users.replacePassword(userID: identity.user.id, expected: stored, hash: hash, on: connection) else {
                throw AppError(.conflict, code: "password_changed", "Votre mot de passe vient d'être modifié ailleurs : reconnectez-vous.")
            }
            let revoked = try await sessions.revokeAll(userID: identity.user.id, keeping: identity.sessionID, on: connection)
            try await audit.record(
                AuditEntry(
                    userID: identity.user.id, action: "password_change", targetType: "user", targetID: String(identity.user.id),
                    details: ["sessions_revoked": .number(Double(revoked))], client: info
                ),
                on: connection
            )
        }
    }

    /// Converts every remaining Phase 1 plaintext password to bcrypt; returns how many rows were converted.
    public func hashLegacyPasswords(client info: ClientInfo = .commandLine) async throws -> Int {
        var converted = 0
        var attempted = Set<Int>()
        while true {
            // A row changed by someone else meanwhile is skipped, not retried forever.
            let batch = try await users.legacyPasswords(limit: 100 + attempted.count).filter { !attempted.contains($0.id) }
            if batch.isEmpty { return converted }
            for row in batch {
                attempted.insert(row.id)
                let hash = try await hasher.hash(row.password)
                try await client.transaction(logger: logger) { connection in
                    if try await users.replacePassword(userID: row.id, expected: row.password, hash: hash, on: connection) {
                        try await audit.record(
                            AuditEntry(userID: nil, action: "legacy_password_rehash", targetType: "user", targetID: String(row.id), client: info),
                            on: connection
                        )
                        converted += 1
                    }
                }
            }
        }
    }
}
