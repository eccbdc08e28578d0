import MCP

/// A tool's arguments with French messages for whatever is missing, mistyped or unexpected. Models and people both
/// send numbers as strings ("1234"), so numbers are accepted in either form.
struct DemoArguments {
    let tool: String
    let values: [String: Value]

    init(tool: String, values: [String: Value]?, accepted: [String]) throws(DemoToolError) {
        self.tool = tool
        self.values = values ?? [:]
        let unexpected = self.values.keys.filter { !accepted.contains($0) }.sorted()
        if let first = unexpected.first {
            let list = accepted.isEmpty ? "aucun" : accepted.map { "« \($0) »" }.joined(separator: ", ")
            throw DemoToolError("Argument inattendu « \(first) » pour \(tool). Arguments acceptés : \(list).")
        }
    }

    func string(_ name: String, example: String) throws(DemoToolError) -> String {
        guard let value = values[name], !value.isNull else {
            throw DemoToolError("Argument manquant : « \(name) » (par exemple « \(example) »).")
        }
        guard let text = value.stringValue else {
            throw DemoToolError("L'argument « \(name) » doit être un texte (par exemple « \(example) »).")
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw DemoToolError("L'argument « \(name) » est vide (par exemple « \(example) »).") }
        guard trimmed.count <= 500 else { throw DemoToolError("L'argument « \(name) » dépasse 500 caractères.") }
        return trimmed
    }

    func optionalString(_ name: String) throws(DemoToolError) -> String? {
        guard let value = values[name], !value.isNull else { return nil }
        guard let text = value.stringValue else { throw DemoToolError("L'argument « \(name) » doit être un texte.") }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count <= 2000 else { throw DemoToolError("L'argument « \(name) » dépasse 2000 caractères.") }
        return trimmed.isEmpty ? nil : trimmed
    }

    func integer(_ name: String, example: Int) throws(DemoToolError) -> Int {
        guard let value = values[name], !value.isNull else {
            throw DemoToolError("Argument manquant : « \(name) » (un nombre, par exemple \(example)).")
        }
        return try integer(name, value)
    }

    func optionalInteger(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(DemoToolError) -> Int {
        guard let value = values[name], !value.isNull else { return fallback }
        let number = try integer(name, value)
        guard range.contains(number) else {
            throw DemoToolError("L'argument « \(name) » doit être compris entre \(range.lowerBound) et \(range.upperBound).")
        }
        return number
    }

    func optionalBool(_ name: String, default fallback: Bool) throws(DemoToolError) -> Bool {
        guard let value = values[name], !value.isNull else { return fallback }
        if let flag = value.boolValue { return flag }
        switch value.stringValue?.lowercased() {
        case "true", "oui", "1": return true
        case "false", "non", "0": return false
        default: throw DemoToolError("L'argument « \(name) » doit valoir true ou false.")
        }
    }

    private func integer(_ name: String, _ value: Value) throws(DemoToolError) -> Int {
        if let number = value.intValue { return number }
        if let number = value.doubleValue, number == number.rounded(), abs(number) < 1e15 { return Int(number) }
        if let text = value.stringValue, let number = Int(text.trimmingCharacters(in: .whitespaces).trimmingPrefix("#")) { return number }
        throw DemoToolError("L'argument « \(name) » doit être un nombre entier.")
    }
}

/// A failure the caller can fix; it becomes an MCP tool result with `isError: true` and this French message.
struct DemoToolError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
