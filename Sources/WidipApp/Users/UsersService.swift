import Foundation
import Logging
import PostgresNIO

/// What an administrator may set on a user. Nil fields are left as they are.
public struct UserChanges: Sendable, Equatable {
    public var username: String?
    public var role: String?
    public var level: AccreditationLevel?
    public var tokenQuota: Int?
    public var active: Bool?
    /// A new password chosen by the administrator (a reset); the user's sessions are revoked.
    public var password: String?

    public init(username: String? = nil, role: String? = nil, level: AccreditationLevel? = nil, tokenQuota: Int? = nil, active: Bool? = nil, password: String? = nil) {
        self.username = username
        self.role = role
        self.level = level
        self.tokenQuota = tokenQuota
        self.active = active
        self.password = password
    }
}

public struct NewUser: Sendable, Equatable {
    public var username: String
    public var password: String
    public var role: String
    public var level: AccreditationLevel
    public var tokenQuota: Int
    public var active: Bool

    public init(username: String, password: String, role: String = "tech", level: AccreditationLevel = .n1, tokenQuota: Int = UserRules.defaultTokenQuota, active: Bool = true) {
        self.username = username
        self.password = password
        self.role = role
        self.level = level
        self.tokenQuota = tokenQuota
        self.active = active
    }
}

/// User management (PRD 3.4): every change is audited in its own transaction, and the product always keeps an
/// active super admin.
public struct UsersService: Sendable {
    let client: PostgresClient
    let users: UserRepository
    let sessions: SessionRepository
    let audit: AuditRepository
    let hasher: PasswordHasher
    let logger: Logger

    public init(client: PostgresClient, users: UserRepository, sessions: SessionRepository, audit: AuditRepository, hasher: PasswordHasher, logger: Logger) {
        self.client = client
        self.users = users
        self.sessions = sessions
        self.audit = audit
        self.hasher = hasher
        self.logger = logger
    }

    public func list(search: String?) async throws -> [User] {
        let trimmed = search?.trimmingCharacters(in: .whitespaces)
        return try await users.list(search: trimmed?.isEmpty == false ? trimmed : nil)
    }

    public func get(id: Int) async throws -> User {
        guard let user = try await users.find(id: id) else { throw AppError(.notFound, "Utilisateur introuvable.") }
        return user
    }

    /// `actorID` is nil for the command line.
    public func create(_ new: NewUser, actorID: Int?, client info: ClientInfo) async throws -> User {
        let username = new.username.trimmingCharacters(in: .whitespaces)
        try UserRules.validateUsername(username)
        try UserRules.validatePassword(new.password)
        try UserRules.validateRole(new.role)
        try UserRules.validateQuota(new.tokenQuota)
        let hash = try await hasher.hash(new.password)
        return try await client.transaction(logger: logger) { connection in
            guard try await !users.usernameTaken(username, excluding: nil, on: connection) else { throw Self.usernameTaken(username) }
            let user: User
            do {
                user = try await users.insert(
                    username: username, passwordHash: hash, role: new.role, level: new.level, tokenQuota: new.tokenQuota, active: new.active, on: connection
                )
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                throw Self.usernameTaken(username)  // created concurrently
            }
            try await audit.record(
                AuditEntry(
                    userID: actorID, action: "user_create", targetType: "user", targetID: String(user.id),
                    details: [
                        "username": .string(user.username), "role": .string(user.role), "accreditation_level": .string(user.level.rawValue),
                        "token_quota": .number(Double(user.tokenQuota)), "active": .bool(user.active),
                    ],
                    client: info
                ),
                on: connection
            )
            return user
        }
    }

    public func update(id: Int, changes: UserChanges, actorID: Int?, client info: ClientInfo) async throws -> User {
        let username = changes.username?.trimmingCharacters(in: .whitespaces)
        if let username { try UserRules.validateUsername(username) }
        if let role = changes.role { try UserRules.validateRole(role) }
        if let quota = changes.tokenQuota { try UserRules.validateQuota(quota) }
        if let password = changes.password {
            // One's own password needs the current one (Mon compte), so a stolen admin session cannot take the account.
            guard actorID != id else {
                throw AppError(.conflict, code: "own_password", "Changez votre propre mot de passe depuis « Mon compte ».", field: "password")
            }
            try UserRules.validatePassword(password)
        }
        let newHash: String? = if let password = changes.password { try await hasher.hash(password) } else { nil }

        return try await client.transaction(logger: logger) { connection in
            let superAdmins = try await users.lockActiveSuperAdmins(on: connection)
            guard let before = try await users.find(id: id, lockingOn: connection) else { throw AppError(.notFound, "Utilisateur introuvable.") }
            var after = before
            after.username = username ?? before.username
            after.role = changes.role ?? before.role
            after.level = changes.level ?? before.level
            after.tokenQuota = changes.tokenQuota ?? before.tokenQuota
            after.active = changes.active ?? before.active
            try checkSuperAdminRemains(before: before, after: after, actorID: actorID, superAdmins: superAdmins)
            if after.username.lowercased() != before.username.lowercased(), try await users.usernameTaken(after.username, excluding: id, on: connection) {
                throw Self.usernameTaken(after.username)
            }

            let updated: User
            do {
                updated = try await users.update(after, on: connection)
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                throw Self.usernameTaken(after.username)  // renamed concurrently
            }
            var diff: [String: JSONValue] = [:]
            if before.username != updated.username { diff["username"] = ["from": .string(before.username), "to": .string(updated.username)] }
            if before.role != updated.role { diff["role"] = ["from": .string(before.role), "to": .string(updated.role)] }
            if before.level != updated.level { diff["accreditation_level"] = ["from": .string(before.level.rawValue), "to": .string(updated.level.rawValue)] }
            if before.tokenQuota != updated.tokenQuota {
                diff["token_quota"] = ["from": .number(Double(before.tokenQuota)), "to": .number(Double(updated.tokenQuota))]
            }
            if before.active != updated.active { diff["active"] = ["from": .bool(before.active), "to": .bool(updated.active)] }
            if let newHash {
                try await users.setPassword(userID: id, hash: newHash, on: connection)
                diff["password_reset"] = true
            }
            // A reset password, a deactivation or a lower level ends the user's sessions.
            if newHash != nil || (before.active && !updated.active) || updated.level < before.level {
                diff["sessions_revoked"] = .number(Double(try await sessions.revokeAll(userID: id, on: connection)))
            }
            if !diff.isEmpty {
                let action = newHash != nil && diff.count <= 2 ? "user_password_reset" : (before.active && !updated.active ? "user_deactivate" : "user_update")
                try await audit.record(
                    AuditEntry(userID: actorID, action: action, targetType: "user", targetID: String(id), details: .object(diff), client: info),
                    on: connection
                )
            }
            return updated
        }
    }

    /// Deleting deactivates: audit rows keep pointing at the user, and the name stays reserved.
    public func deactivate(id: Int, actorID: Int?, client info: ClientInfo) async throws -> User {
        try await update(id: id, changes: UserChanges(active: false), actorID: actorID, client: info)
    }

    /// `./run`'s first start: makes sure an active N4 exists, creating or restoring `admin` with a generated password.
    /// Returns the password when it made one (to print once), nil when a super admin already existed.
    public func ensureSuperAdmin(username: String = "admin") async throws -> String? {
        guard try await !users.hasActiveSuperAdmin() else { return nil }
        let password = Self.generatePassword()
        if let (existing, _) = try await users.credentials(username: username) {
            _ = try await update(
                id: existing.id, changes: UserChanges(role: "admin", level: .n4, active: true, password: password), actorID: nil, client: .commandLine
            )
        } else {
            _ = try await create(NewUser(username: username, password: password, role: "admin", level: .n4, tokenQuota: 50_000), actorID: nil, client: .commandLine)
        }
        return password
    }

    public static func generatePassword() -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
    }

    private func checkSuperAdminRemains(before: User, after: User, actorID: Int?, superAdmins: [Int]) throws {
        let losesSuperAdmin = before.active && before.level == .n4 && (!after.active || after.level != .n4)
        if actorID == before.id && (before.active && !after.active) {
            throw AppError(.conflict, code: "self_deactivation", "Vous ne pouvez pas désactiver votre propre compte.")
        }
        if actorID == before.id && after.level < before.level {
            throw AppError(.conflict, code: "self_demotion", "Vous ne pouvez pas abaisser votre propre niveau d'accréditation.")
        }
        if losesSuperAdmin && superAdmins.filter({ $0 != before.id }).isEmpty {
            throw AppError(.conflict, code: "last_super_admin", "Impossible : c'est le dernier super admin (N4) actif.")
        }
    }

    static func usernameTaken(_ username: String) -> AppError {
        AppError(.conflict, code: "username_taken", "L'identifiant « \(username) » est déjà utilisé.", field: "username")
    }
}
