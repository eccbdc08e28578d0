import Foundation

public struct User: Sendable, Equatable {
    public var id: Int
    public var username: String
    public var role: String
    public var level: AccreditationLevel
    public var tokenQuota: Int
    public var active: Bool
    public var lastLoginAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
}

/// The JSON shape of a user in every API answer. Never carries the password.
public struct UserOutput: Codable, Sendable, Equatable {
    public var id: Int
    public var username: String
    public var role: String
    public var accreditationLevel: AccreditationLevel
    public var tokenQuota: Int
    /// Tokens the user's chat answers used this month (prompt and answer, as the providers report them).
    public var tokensUsed: Int
    public var active: Bool
    public var lastLoginAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, username, role, active
        case accreditationLevel = "accreditation_level"
        case tokenQuota = "token_quota"
        case tokensUsed = "tokens_used"
        case lastLoginAt = "last_login_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(_ user: User, tokensUsed: Int = 0) {
        self.id = user.id
        self.username = user.username
        self.role = user.role
        self.accreditationLevel = user.level
        self.tokenQuota = user.tokenQuota
        self.tokensUsed = tokensUsed
        self.active = user.active
        self.lastLoginAt = user.lastLoginAt
        self.createdAt = user.createdAt
        self.updatedAt = user.updatedAt
    }
}

/// Rules shared by every way of setting a user's fields (API, web form, command line).
public enum UserRules {
    public static let roles = ["admin", "tech", "user"]
    public static let minimumPasswordLength = 10
    /// bcrypt only reads the first 72 bytes: a longer password would silently match shorter ones.
    public static let maximumPasswordBytes = 72
    public static let maximumTokenQuota = 100_000_000
    public static let defaultTokenQuota = 30_000
    /// The rules as the forms show them before anything is typed.
    /// No-break spaces inside the quotes, so that a line never starts with a lone « or ».
    public static let usernameRule = "3 à 50 caractères : lettres sans accent, chiffres, «\u{A0}.\u{A0}», «\u{A0}_\u{A0}» ou «\u{A0}-\u{A0}»."
    public static let passwordRule = "Au moins \(minimumPasswordLength) caractères, \(maximumPasswordBytes) octets au plus (environ \(maximumPasswordBytes) caractères sans accent)."

    /// The forms ask for a new password twice; the API, used by programs, does not.
    public static func confirm(_ password: String, again: String, field: String) throws {
        guard password == again else { throw AppError.invalidField(field, "Les deux saisies du mot de passe ne sont pas identiques.") }
    }

    public static func validateUsername(_ username: String, field: String = "username") throws {
        let allowed = username.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0) }
        guard (3...50).contains(username.count), allowed, username.unicodeScalars.allSatisfy(\.isASCII) else {
            throw AppError.invalidField(field, "L'identifiant doit faire " + usernameRule)
        }
    }

    public static func validatePassword(_ password: String, field: String = "password") throws {
        guard password.unicodeScalars.count >= minimumPasswordLength else {
            throw AppError.invalidField(field, "Le mot de passe doit contenir au moins \(minimumPasswordLength) caractères.")
        }
        guard password.utf8.count <= maximumPasswordBytes else {
            throw AppError.invalidField(field, "Le mot de passe ne doit pas dépasser \(maximumPasswordBytes) octets (environ \(maximumPasswordBytes) caractères sans accent).")
        }
    }

    public static func validateRole(_ role: String, field: String = "role") throws {
        guard roles.contains(role) else {
            throw AppError.invalidField(field, "Rôle inconnu : choisissez parmi \(roles.joined(separator: ", ")).")
        }
    }

    public static func validateQuota(_ quota: Int, field: String = "token_quota") throws {
        guard (0...maximumTokenQuota).contains(quota) else {
            throw AppError.invalidField(field, "Le quota de jetons doit être compris entre 0 et \(maximumTokenQuota).")
        }
    }
}
