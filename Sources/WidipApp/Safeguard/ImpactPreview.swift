import Foundation

/// What an action on an Active Directory account will change, read through the read-only tool `ad_check_user`
/// before the decision, and again after the execution to confirm that the change took effect.
struct ImpactPreview: Sendable {
    let mcp: MCPToolService

    /// The tools that change an Active Directory account.
    static let accountTools: Set = ["ad_reset_password", "ad_disable_account", "ad_copy_groups_from"]

    /// The account an action changes, when it changes one.
    static func account(changedBy tool: String, arguments: [String: JSONValue]) -> String? {
        switch tool {
        case "ad_reset_password", "ad_disable_account": arguments["username"]?.stringValue
        case "ad_copy_groups_from": arguments["target_username"]?.stringValue
        default: nil
        }
    }

    /// The account's state, or nil when the action changes no account or the read failed (the card then says so).
    func read(tool: String, arguments: [String: JSONValue], reason: String) async -> JSONValue? {
        guard let account = Self.account(changedBy: tool, arguments: arguments) else { return nil }
        do {
            let answer = try await withTimeout(.seconds(5)) {
                try await mcp.call(
                    ToolCallRequest(
                        tool: "ad_check_user", arguments: ["username": .string(account)], caller: .workflow(WorkflowTokens.executorName),
                        reason: "\(reason) (\(tool))", client: ClientInfo(ipAddress: nil, userAgent: "widip-safeguard")
                    )
                )
            }
            if answer.isError { return ["error": .string(String(answer.text.prefix(500)))] }
            return answer.structured
        } catch {
            return nil
        }
    }

    /// Whether the state read after the execution shows the change, in a sentence.
    static func confirmation(tool: String, before: JSONValue?, after: JSONValue?) -> (confirmed: Bool, summary: String)? {
        guard let after = after?.objectValue, after["error"] == nil else { return nil }
        let account = after["username"]?.stringValue ?? "le compte"
        switch tool {
        case "ad_disable_account":
            let disabled = after["enabled"] == .bool(false)
            return (disabled, disabled ? "Vérifié : le compte \(account) est désactivé." : "Attention : le compte \(account) est toujours actif.")
        case "ad_reset_password":
            let unlocked = after["locked"] == .bool(false)
            let changed = before?.objectValue?["password_last_set"] != after["password_last_set"]
            return unlocked && changed
                ? (true, "Vérifié : le mot de passe de \(account) a été changé et le compte est déverrouillé.")
                : (false, "Attention : le mot de passe de \(account) ne semble pas avoir changé.")
        case "ad_copy_groups_from":
            guard case .array(let groups)? = after["groups"] else { return nil }
            let previous: Int = if case .array(let old)? = before?.objectValue?["groups"] { old.count } else { 0 }
            return groups.count >= previous
                ? (true, "Vérifié : \(account) est membre de \(groups.count) groupes.")
                : (false, "Attention : \(account) a moins de groupes qu'avant.")
        default:
            return nil
        }
    }
}
