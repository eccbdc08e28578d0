import Foundation

/// Checks a tool's arguments against the JSON Schema the MCP server gives for it, before a request is stored: an
/// approval for arguments the tool would refuse wastes a technician's decision. The keywords MCP tool schemas use are
/// checked (type, required, properties, additionalProperties, enum, minimum, maximum, minLength, maxLength, items);
/// others are ignored, and the server still has the last word when the call is made.
struct ArgumentSchema {
    let schema: JSONValue

    /// The first problem, with the argument it concerns (`arguments.username`), or nil when the arguments fit.
    func problem(with arguments: [String: JSONValue]) -> (field: String, message: String)? {
        problem(.object(arguments), against: schema, at: "arguments")
    }

    private func problem(_ value: JSONValue, against schema: JSONValue, at path: String) -> (field: String, message: String)? {
        guard let rules = schema.objectValue else { return nil }
        if let type = rules["type"], !Self.matches(value, type: type) {
            return (path, "Doit être \(Self.describe(type)).")
        }
        if case .array(let allowed)? = rules["enum"], !allowed.contains(value) {
            let choices = allowed.map { $0.stringValue ?? $0.jsonText }.joined(separator: ", ")
            return (path, "Valeur non admise : \(choices).")
        }
        switch value {
        case .number(let number):
            if case .number(let minimum)? = rules["minimum"], number < minimum { return (path, "Doit être au moins \(Self.plain(minimum)).") }
            if case .number(let maximum)? = rules["maximum"], number > maximum { return (path, "Doit être au plus \(Self.plain(maximum)).") }
        case .string(let text):
            if case .number(let minimum)? = rules["minLength"], Double(text.count) < minimum { return (path, "Trop court (\(Self.plain(minimum)) caractères au moins).") }
            if case .number(let maximum)? = rules["maxLength"], Double(text.count) > maximum { return (path, "Trop long (\(Self.plain(maximum)) caractères au plus).") }
        case .array(let items):
            if let itemSchema = rules["items"] {
                for (index, item) in items.enumerated() {
                    if let problem = problem(item, against: itemSchema, at: "\(path).\(index)") { return problem }
                }
            }
        case .object(let fields):
            let properties = rules["properties"]?.objectValue ?? [:]
            if case .array(let required)? = rules["required"] {
                for case .string(let name) in required where fields[name] == nil || fields[name] == .null {
                    return ("\(path).\(name)", "Cet argument est obligatoire.")
                }
            }
            for name in fields.keys.sorted() {
                if let property = properties[name] {
                    if let problem = problem(fields[name]!, against: property, at: "\(path).\(name)") { return problem }
                } else if rules["additionalProperties"] == .bool(false) {
                    let known = properties.keys.sorted().joined(separator: ", ")
                    return ("\(path).\(name)", "Argument inconnu de cet outil (arguments admis : \(known)).")
                }
            }
        default:
            break
        }
        return nil
    }

    private static func matches(_ value: JSONValue, type: JSONValue) -> Bool {
        switch type {
        case .string(let name): matches(value, typeName: name)
        case .array(let names): names.contains { $0.stringValue.map { matches(value, typeName: $0) } ?? false }
        default: true
        }
    }

    private static func matches(_ value: JSONValue, typeName: String) -> Bool {
        switch (typeName, value) {
        case ("string", .string), ("boolean", .bool), ("object", .object), ("array", .array), ("null", .null), ("number", .number): true
        case ("integer", .number(let number)): number.rounded() == number
        default: false
        }
    }

    private static func describe(_ type: JSONValue) -> String {
        let names: [String] =
            switch type {
            case .string(let name): [name]
            case .array(let items): items.compactMap(\.stringValue)
            default: []
            }
        let french = names.map { name in
            switch name {
            case "string": "un texte"
            case "integer": "un nombre entier"
            case "number": "un nombre"
            case "boolean": "true ou false"
            case "object": "un objet"
            case "array": "une liste"
            case "null": "null"
            default: name
            }
        }
        return french.joined(separator: " ou ")
    }

    private static func plain(_ number: Double) -> String {
        number.rounded() == number ? String(Int(number)) : String(number)
    }
}
