import Foundation

/// Who made a request, as recorded beside every state change.
public struct ClientInfo: Sendable, Equatable {
    public var ipAddress: String?
    public var userAgent: String?

    public init(ipAddress: String?, userAgent: String?) {
        self.ipAddress = ipAddress
        self.userAgent = userAgent.map { String($0.prefix(512)) }
    }

    /// Changes made from the command line (`widip user create`, …).
    public static let commandLine = ClientInfo(ipAddress: nil, userAgent: "widip-cli")
}

/// One row of `user_audit_log` to write.
public struct AuditEntry: Sendable {
    public var userID: Int?
    public var action: String
    public var targetType: String?
    public var targetID: String?
    public var details: JSONValue?
    public var client: ClientInfo

    public init(userID: Int?, action: String, targetType: String? = nil, targetID: String? = nil, details: JSONValue? = nil, client: ClientInfo) {
        self.userID = userID
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.details = details
        self.client = client
    }
}

/// One row of `user_audit_log` as read back, with the actor's name.
public struct AuditRecord: Sendable, Codable, Equatable {
    public var id: Int
    public var userID: Int?
    public var username: String?
    public var action: String
    public var targetType: String?
    public var targetID: String?
    public var details: JSONValue?
    public var ipAddress: String?
    public var userAgent: String?
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, username, action, details
        case userID = "user_id"
        case targetType = "target_type"
        case targetID = "target_id"
        case ipAddress = "ip_address"
        case userAgent = "user_agent"
        case createdAt = "created_at"
    }
}

public struct AuditFilter: Sendable, Equatable {
    public var userID: Int?
    public var action: String?
    public var targetType: String?
    public var targetID: String?
    public var from: Date?
    public var to: Date?
    /// Keyset cursor: only rows with a smaller id (older) than this.
    public var before: Int?
    /// Only rows newer than this (the live viewer catching up).
    public var after: Int?
    public var limit: Int

    public init(userID: Int? = nil, action: String? = nil, targetType: String? = nil, targetID: String? = nil, from: Date? = nil, to: Date? = nil, before: Int? = nil, after: Int? = nil, limit: Int = 50) {
        self.userID = userID
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.from = from
        self.to = to
        self.before = before
        self.after = after
        self.limit = limit
    }
}
