import Foundation
import MCP

/// Who asks for a tool call: a signed-in user (their accreditation bounds what runs without approval) or an automated
/// workflow (SAFEGUARD executing an approved action, SUPPORT, SENTINEL…).
public enum ToolCaller: Sendable, Equatable {
    case user(id: Int, username: String, level: AccreditationLevel)
    case workflow(String)

    public init(_ user: User) {
        self = .user(id: user.id, username: user.username, level: user.level)
    }

    /// The highest level this caller may run without an approval (PRD 3.4.1): N0 reads harmless data only, N1 up to
    /// L1, N2 and above up to L2; L3 and above always go through SAFEGUARD. Workflows run L0–L2 on their own, as in
    /// Phase 1.
    public var maxLevelWithoutApproval: ToolLevel {
        switch self {
        case .user(_, _, let level):
            switch level {
            case .n0: .l0
            case .n1: .l1
            case .n2, .n3, .n4: .l2
            }
        case .workflow: .l2
        }
    }

    var userID: Int? {
        if case .user(let id, _, _) = self { return id }
        return nil
    }

    var name: String {
        switch self {
        case .user(_, let username, _): username
        case .workflow(let name): "workflow:\(name)"
        }
    }

    /// The name as SAFEGUARD's timeline shows it: a user's, or the workflow's own (`SUPPORT`), as on its requests.
    var actorName: String {
        switch self {
        case .user(_, let username, _): username
        case .workflow(let name): name
        }
    }
}

/// One request to run a tool.
public struct ToolCallRequest: Sendable {
    public var tool: String
    public var arguments: [String: JSONValue]
    public var caller: ToolCaller
    /// Why the call is made, in words (kept in the audit log).
    public var reason: String
    /// The SAFEGUARD approval that authorises this exact call, for L3 and above.
    public var approvalID: String?
    public var client: ClientInfo

    public init(
        tool: String, arguments: [String: JSONValue] = [:], caller: ToolCaller, reason: String, approvalID: String? = nil,
        client: ClientInfo = ClientInfo(ipAddress: nil, userAgent: nil)
    ) {
        self.tool = tool
        self.arguments = arguments
        self.caller = caller
        self.reason = reason
        self.approvalID = approvalID
        self.client = client
    }
}

/// What a tool answered. `isError` is the tool's own verdict (unknown account, bad argument…): the call itself
/// worked, and `text` says what went wrong in the server's words.
public struct ToolCallResult: Sendable {
    public let tool: String
    public let level: ToolLevel
    public let isError: Bool
    public let text: String
    public let structured: JSONValue?
    public let duration: Duration
}

/// How a call ended, as counted and audited.
enum ToolCallOutcome: String, Sendable {
    case success, toolError = "tool_error", refused, timeout, unreachable, protocolError = "protocol_error", cancelled
}

extension JSONValue {
    init(_ value: MCP.Value) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .int(let number): self = .number(Double(number))
        case .double(let number): self = .number(number)
        case .string(let text): self = .string(text)
        case .data(let mimeType, let data): self = .string("data:\(mimeType ?? "application/octet-stream");base64,\(data.base64EncodedString())")
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .object(let fields): self = .object(fields.mapValues(JSONValue.init))
        }
    }

    var mcpValue: MCP.Value {
        switch self {
        case .null: .null
        case .bool(let flag): .bool(flag)
        case .number(let number): number.rounded() == number && abs(number) < 1e15 ? .int(Int(number)) : .double(number)
        case .string(let text): .string(text)
        case .array(let items): .array(items.map(\.mcpValue))
        case .object(let fields): .object(fields.mapValues(\.mcpValue))
        }
    }

    /// A copy fit for the audit log: values under names that look like secrets are replaced.
    var maskingSecrets: JSONValue {
        switch self {
        case .object(let fields):
            return .object(Dictionary(uniqueKeysWithValues: fields.map { key, value in
                (key, Self.looksSecret(key) ? .string("••••••") : value.maskingSecrets)
            }))
        case .array(let items):
            return .array(items.map(\.maskingSecrets))
        default:
            return self
        }
    }

    private static func looksSecret(_ key: String) -> Bool {
        let name = key.lowercased().replacingOccurrences(of: "-", with: "_")
        return ["password", "passwd", "pwd", "secret", "token", "apikey", "api_key", "credential", "private_key", "passphrase"]
            .contains { name.contains($0) }
    }
}
