import Foundation

/// How an audit row reads to an administrator (PRD 3.4.2): actions and targets in French, details as short
/// "clé : valeur" text. The stored codes stay as they are (Phase 1 reads and writes the same table); the page keeps
/// each raw code in reach (a title, the full details on demand).
struct AuditPresentation {
    /// The actions this product writes. Codes written by others (Phase 1) are shown as they are.
    static let actionLabels: [String: String] = [
        "login": "Connexion",
        "login_failed": "Connexion refusée",
        "login_blocked": "Connexions bloquées (trop de tentatives)",
        "logout": "Déconnexion",
        "password_change": "Changement de mot de passe",
        "password_change_failed": "Changement de mot de passe refusé",
        "legacy_password_rehash": "Mot de passe Phase 1 rechiffré",
        "user_create": "Création d'utilisateur",
        "user_update": "Modification d'utilisateur",
        "user_deactivate": "Désactivation d'utilisateur",
        "user_password_reset": "Réinitialisation de mot de passe",
        "mcp.tool_call": "Appel d'outil MCP",
        "mcp.tool_call_refused": "Appel d'outil MCP refusé",
    ]

    static let keyLabels: [String: String] = [
        "username": "identifiant", "reason": "motif", "count": "tentatives", "last_at": "dernière",
        "role": "rôle", "accreditation_level": "niveau", "token_quota": "quota de jetons", "active": "actif",
        "password_reset": "mot de passe réinitialisé", "sessions_revoked": "sessions fermées", "password_rehashed": "mot de passe rechiffré",
        "legacy_password_rehashed": "mot de passe Phase 1 rechiffré", "tool": "outil", "level": "niveau", "caller": "appelant",
        "arguments": "arguments", "outcome": "résultat", "duration_ms": "durée (ms)", "error": "erreur", "approval_id": "approbation",
        "approved_by": "approuvé par",
    ]

    /// Keys whose values are codes of this product, translated by `valueLabels`; other values are shown as written.
    static let codedKeys: Set<String> = ["reason", "outcome"]
    static let valueLabels: [String: String] = [
        "wrong_password": "mot de passe erroné", "unknown_user": "identifiant inconnu", "inactive": "compte désactivé",
        "invalid_input": "saisie invalide", "success": "réussi", "tool_error": "erreur de l'outil", "refused": "refusé",
        "timeout": "délai dépassé", "failure": "échec",
    ]

    /// Values longer than this are cut in the row; the whole text is one click away.
    static let valueLimit = 60
    /// The row's summary is cut here too.
    static let summaryLimit = 160

    let format: FrenchFormat
    /// Usernames by id, to name a target user.
    let usernames: [Int: String]

    init(format: FrenchFormat, users: [User]) {
        self.format = format
        self.usernames = Dictionary(users.map { ($0.id, $0.username) }, uniquingKeysWith: { first, _ in first })
    }

    static func actionLabel(_ code: String) -> String { actionLabels[code] ?? code }

    func target(of entry: AuditRecord) -> String {
        guard let type = entry.targetType else { return entry.targetID ?? "" }
        let id = entry.targetID ?? ""
        switch type {
        case "user":
            // A target user is stored by id; a refused login names what was typed.
            let name = Int(id).flatMap { usernames[$0] } ?? id
            return "utilisateur \(name)"
        case "session":
            return entry.username.map { "session de \($0)" } ?? "session"
        case "mcp_tool":
            return "outil \(id)"
        default:
            return id.isEmpty ? type : "\(type) \(id)"
        }
    }

    /// "identifiant : jdupont · motif : mot de passe erroné", each value and the whole cut to stay one line or two.
    func summary(of details: JSONValue?) -> (text: String, isCut: Bool) {
        guard let details else { return ("", false) }
        guard case .object(let fields) = details else { return cut(text(details), limit: Self.summaryLimit) }
        var isCut = false
        let parts = fields.keys.sorted { order($0) < order($1) }.map { key in
            let value = fields[key] ?? .null
            let shown: String
            if key.hasSuffix("_at"), let date = value.stringValue.flatMap({ try? Date($0, strategy: .iso8601) }) {
                shown = format.dateTime(date)
            } else if Self.codedKeys.contains(key), let label = value.stringValue.flatMap({ Self.valueLabels[$0] }) {
                shown = label
            } else {
                shown = text(value)
            }
            let (valueText, valueCut) = cut(shown, limit: Self.valueLimit)
            isCut = isCut || valueCut
            return "\(Self.keyLabels[key] ?? key) : \(valueText)"
        }
        let (whole, wholeCut) = cut(parts.joined(separator: " · "), limit: Self.summaryLimit)
        return (whole, isCut || wholeCut)
    }

    /// Keys in the order an administrator reads them: who and why first, the long ones last.
    private func order(_ key: String) -> String {
        let first = ["username", "tool", "outcome", "reason", "count", "last_at", "error"]
        if let index = first.firstIndex(of: key) { return "0\(index)" }
        return key == "arguments" ? "2" : "1" + key
    }

    private func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let string): return string
        case .number(let number):
            return number == number.rounded() && abs(number) < 1e15 ? format.integer(Int(number)) : format.decimal(number)
        case .bool(let flag): return flag ? "oui" : "non"
        case .null: return "—"
        case .array(let items): return items.map(text).joined(separator: ", ")
        case .object(let fields):
            if let from = fields["from"], let to = fields["to"], fields.count == 2 { return "\(text(from)) → \(text(to))" }
            return fields.keys.sorted().map { "\($0) = \(text(fields[$0] ?? .null))" }.joined(separator: ", ")
        }
    }

    private func cut(_ text: String, limit: Int) -> (String, Bool) {
        text.count > limit ? (String(text.prefix(limit - 1)) + "…", true) : (text, false)
    }
}
