import Foundation

/// A conversation kept to one client: what a tool answered about another client is taken out before the model or the
/// page sees it, so one care home's data never reaches an answer about another. Phase 1's tools name the client of
/// what they return in a `client` field (a device, a ticket, an account, a resolved case) and list clients by `name`
/// (client search): those are the fields checked.
struct ClientScope: Sendable {
    let client: String?

    init(_ client: String?) {
        self.client = client
    }

    /// The result as the model reads it: its structured content without what belongs to other clients (or its text,
    /// when the tool gave no structure), secrets masked.
    func filter(_ result: ToolCallResult) -> (text: String, withheld: Int) {
        guard let structured = result.structured else { return (result.text, 0) }
        guard let client else { return (structured.maskingSecrets.jsonText, 0) }
        var withheld = 0
        guard let kept = keep(structured, key: nil, scope: Self.normalized(client), withheld: &withheld) else {
            return ("Résultat masqué : il concerne un autre client que « \(client) », auquel cette conversation est limitée.", 1)
        }
        var text = kept.maskingSecrets.jsonText
        if withheld > 0 { text += "\n(\(withheld) élément(s) d'autres clients masqué(s) : conversation limitée à « \(client) ».)" }
        return (text, withheld)
    }

    /// `value` without the objects of another client; nil when `value` itself is one.
    private func keep(_ value: JSONValue, key: String?, scope: String, withheld: inout Int) -> JSONValue? {
        switch value {
        case .object(let fields):
            let owner = fields["client"]?.stringValue ?? (key == "clients" ? fields["name"]?.stringValue : nil)
            if let owner, Self.normalized(owner) != scope {
                withheld += 1
                return nil
            }
            var kept: [String: JSONValue] = [:]
            for (name, field) in fields {
                if let field = keep(field, key: name, scope: scope, withheld: &withheld) { kept[name] = field }
            }
            return .object(kept)
        case .array(let items):
            // Items of an array inherit the array's name (`clients: [{name}]`).
            return .array(items.compactMap { keep($0, key: key, scope: scope, withheld: &withheld) })
        default:
            return value
        }
    }

    /// Case, accents and punctuation aside: « Clinique Saint-Jean » and « clinique saint jean » are one client.
    static func normalized(_ name: String) -> String {
        name.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: Locale(identifier: "fr_FR"))
            .split { !$0.isLetter && !$0.isNumber }.joined(separator: " ")
    }
}
