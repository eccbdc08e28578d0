import Foundation

/// SAFEGUARD's delays and limits (`SAFEGUARD_*` settings).
public struct SafeguardSettings: Sendable {
    /// The longest a request may wait for a decision.
    public var maximumExpiry: Duration
    /// How much « Reporter » adds to the expiry.
    public var postponeStep: Duration
    /// How many times a request may be postponed.
    public var maximumPostpones: Int
    /// A request still pending with this much time left is escalated to N3+.
    public var escalationLead: Duration
    /// How long a requester has to run an approval it runs itself (`execution_mode: requester`).
    public var executionWindow: Duration

    public init(
        maximumExpiry: Duration = .seconds(3600), postponeStep: Duration = .seconds(900), maximumPostpones: Int = 2,
        escalationLead: Duration = .seconds(600), executionWindow: Duration = .seconds(900)
    ) {
        self.maximumExpiry = maximumExpiry
        self.postponeStep = postponeStep
        self.maximumPostpones = maximumPostpones
        self.escalationLead = escalationLead
        self.executionWindow = executionWindow
    }
}

public enum ApprovalStatus: String, Sendable, Codable, CaseIterable {
    case pending, approved, rejected, expired, executing, executed, failed

    public var frenchLabel: String {
        switch self {
        case .pending: "En attente"
        case .approved: "Approuvée"
        case .rejected: "Rejetée"
        case .expired: "Expirée"
        case .executing: "En cours d'exécution"
        case .executed: "Exécutée"
        case .failed: "Échec de l'exécution"
        }
    }

    /// Nothing more will happen to the request.
    public var isFinal: Bool { [.rejected, .expired, .executed, .failed].contains(self) }
}

/// Who runs an approved action.
public enum ExecutionMode: String, Sendable, Codable {
    /// SAFEGUARD, as soon as the request is approved.
    case platform
    /// The requester, with the approval id (a workflow that runs the action itself).
    case requester
}

/// Who asked for an action.
public enum Requester: Sendable, Equatable {
    case workflow(String)
    case user(id: Int, username: String)

    var type: String {
        switch self {
        case .workflow: "workflow"
        case .user: "user"
        }
    }

    var name: String {
        switch self {
        case .workflow(let name): name
        case .user(_, let username): username
        }
    }

    var userID: Int? {
        if case .user(let id, _) = self { return id }
        return nil
    }

    /// The caller under which a requester runs its own approved action.
    var toolCaller: ToolCaller? {
        switch self {
        case .workflow(let name): .workflow(name)
        case .user: nil
        }
    }
}

/// A request to create, from any of the ways in (a workflow's POST, the assistant).
public struct NewApprovalRequest: Sendable {
    public var tool: String
    public var arguments: [String: JSONValue]
    /// The ticket context (PRD 3.2.1): ticket id, title, description, client, workflow, confidence, and any other key.
    public var context: [String: JSONValue]
    /// Nil: the longest allowed (`SAFEGUARD_MAX_EXPIRY_MINUTES`).
    public var expiresAt: Date?
    public var requester: Requester
    public var conversationID: UUID?
    public var idempotencyKey: String?
    public var callbackURL: String?
    public var executionMode: ExecutionMode

    public init(
        tool: String, arguments: [String: JSONValue], context: [String: JSONValue] = [:], expiresAt: Date? = nil, requester: Requester,
        conversationID: UUID? = nil, idempotencyKey: String? = nil, callbackURL: String? = nil, executionMode: ExecutionMode = .platform
    ) {
        self.tool = tool
        self.arguments = arguments
        self.context = context
        self.expiresAt = expiresAt
        self.requester = requester
        self.conversationID = conversationID
        self.idempotencyKey = idempotencyKey
        self.callbackURL = callbackURL
        self.executionMode = executionMode
    }
}

/// One row of `safeguard_approvals`, as the view `safeguard_requests` gives it.
public struct ApprovalRequest: Sendable, Decodable, Equatable {
    public let approvalID: String
    public let toolName: String
    public let arguments: JSONValue
    public let securityLevel: String
    public let context: JSONValue
    public let status: String
    public let requesterType: String
    public let requesterName: String?
    public let requesterUserID: Int?
    public let conversationID: UUID?
    public let idempotencyKey: String?
    public let callbackURL: String?
    public let executionMode: String
    public let approvalsRequired: Int
    public let approvalsCount: Int
    public let postponeCount: Int
    public let createdAt: Date
    public let expiresAt: Date
    public let escalatedAt: Date?
    public let decidedAt: Date?
    public let decidedBy: String?
    public let decisionReason: String?
    public let executionStartedAt: Date?
    public let executedAt: Date?
    public let executionAttempts: Int
    public let result: JSONValue?
    public let error: String?
    public let impactBefore: JSONValue?
    public let impactAfter: JSONValue?

    enum CodingKeys: String, CodingKey {
        case approvalID = "approval_id"
        case toolName = "tool_name"
        case arguments
        case securityLevel = "security_level"
        case context, status
        case requesterType = "requester_type"
        case requesterName = "requester_name"
        case requesterUserID = "requester_user_id"
        case conversationID = "conversation_id"
        case idempotencyKey = "idempotency_key"
        case callbackURL = "callback_url"
        case executionMode = "execution_mode"
        case approvalsRequired = "approvals_required"
        case approvalsCount = "approvals_count"
        case postponeCount = "postpone_count"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case escalatedAt = "escalated_at"
        case decidedAt = "decided_at"
        case decidedBy = "decided_by"
        case decisionReason = "decision_reason"
        case executionStartedAt = "execution_started_at"
        case executedAt = "executed_at"
        case executionAttempts = "execution_attempts"
        case result, error
        case impactBefore = "impact_before"
        case impactAfter = "impact_after"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        /// Phase 1 may keep JSON in a text column: `to_jsonb` then gives a string holding the document.
        func document(_ key: CodingKeys) throws -> JSONValue? {
            let value = try container.decodeIfPresent(JSONValue.self, forKey: key)
            if case .string(let text)? = value, let parsed = JSONValue.parse(text) { return parsed }
            return value == .null ? nil : value
        }
        approvalID = try container.decode(String.self, forKey: .approvalID)
        toolName = try container.decode(String.self, forKey: .toolName)
        arguments = try document(.arguments) ?? .object([:])
        securityLevel = try container.decodeIfPresent(String.self, forKey: .securityLevel) ?? "L3"
        context = try document(.context) ?? .object([:])
        status = try container.decode(String.self, forKey: .status)
        requesterType = try container.decode(String.self, forKey: .requesterType)
        requesterName = try container.decodeIfPresent(String.self, forKey: .requesterName)
        requesterUserID = try container.decodeIfPresent(Int.self, forKey: .requesterUserID)
        conversationID = try container.decodeIfPresent(UUID.self, forKey: .conversationID)
        idempotencyKey = try container.decodeIfPresent(String.self, forKey: .idempotencyKey)
        callbackURL = try container.decodeIfPresent(String.self, forKey: .callbackURL)
        executionMode = try container.decode(String.self, forKey: .executionMode)
        approvalsRequired = try container.decode(Int.self, forKey: .approvalsRequired)
        approvalsCount = try container.decode(Int.self, forKey: .approvalsCount)
        postponeCount = try container.decode(Int.self, forKey: .postponeCount)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        expiresAt = try container.decode(Date.self, forKey: .expiresAt)
        escalatedAt = try container.decodeIfPresent(Date.self, forKey: .escalatedAt)
        decidedAt = try container.decodeIfPresent(Date.self, forKey: .decidedAt)
        decidedBy = try container.decodeIfPresent(String.self, forKey: .decidedBy)
        decisionReason = try container.decodeIfPresent(String.self, forKey: .decisionReason)
        executionStartedAt = try container.decodeIfPresent(Date.self, forKey: .executionStartedAt)
        executedAt = try container.decodeIfPresent(Date.self, forKey: .executedAt)
        executionAttempts = try container.decode(Int.self, forKey: .executionAttempts)
        result = try document(.result)
        error = try container.decodeIfPresent(String.self, forKey: .error)
        impactBefore = try document(.impactBefore)
        impactAfter = try document(.impactAfter)
    }

    public var approvalStatus: ApprovalStatus? { ApprovalStatus(rawValue: status) }
    public var level: ToolLevel { ToolLevel(label: securityLevel) ?? .l4 }
    public var mode: ExecutionMode { ExecutionMode(rawValue: executionMode) ?? .platform }

    public var requester: Requester? {
        if requesterType == "user", let id = requesterUserID { return .user(id: id, username: requesterName ?? "?") }
        return requesterName.map(Requester.workflow)
    }

    /// The ticket context's fields by name.
    public func contextText(_ key: String) -> String? {
        switch context.objectValue?[key] {
        case .string(let text)?: text.isEmpty ? nil : text
        case .number(let number)?: number.rounded() == number ? String(Int(number)) : String(number)
        default: nil
        }
    }

    public var ticketID: String? { contextText("ticket_id") }
    public var clientName: String? { contextText("client_name") }
    public var argumentFields: [String: JSONValue] { arguments.objectValue ?? [:] }
}

/// One step of a request's timeline.
public struct TimelineStep: Sendable, Equatable {
    public let kind: String
    public let actorName: String?
    public let reason: String?
    public let details: JSONValue?
    public let ipAddress: String?
    public let at: Date
}

/// Filters of the history.
public struct ApprovalFilter: Sendable, Equatable {
    public var status: ApprovalStatus?
    public var tool: String?
    public var client: String?
    public var requester: String?
    public var decider: String?
    public var from: Date?
    public var to: Date?
    public var offset = 0
    public var limit = 50

    public init() {}
}

/// SAFEGUARD over a period (PRD 3.3.4).
public struct ApprovalStats: Sendable, Equatable {
    public var total = 0
    public var approved = 0
    public var rejected = 0
    public var expired = 0
    public var pending = 0
    public var executed = 0
    public var failed = 0
    /// From creation to decision, over decided requests.
    public var averageDecisionSeconds: Double?
    public var topTools: [(tool: String, count: Int)] = []
    /// Requests per day ("2026-12-05" in the display time zone), oldest first, days without any included.
    public var perDay: [(day: String, count: Int)] = []

    public static func == (lhs: ApprovalStats, rhs: ApprovalStats) -> Bool {
        lhs.total == rhs.total && lhs.approved == rhs.approved && lhs.rejected == rhs.rejected && lhs.expired == rhs.expired
            && lhs.topTools.map(\.tool) == rhs.topTools.map(\.tool)
    }
}
