import Foundation

/// Tool calls written as text. Qwen2.5-Coder writes its calls as a fenced block, ```` ```json {"name": …,
/// "arguments": …} ``` ````; llama-server turns them into `tool_calls` with the template `./run` gives it, but another
/// server or template leaves them in the text. This filter holds back a fenced block until it is closed: a call to
/// an offered tool is taken out of the answer and returned, any other block is shown as written.
struct FencedToolCalls {
    let toolNames: Set<String>
    private(set) var calls: [LLMToolCall] = []
    private var pending = ""
    private var insideFence = false

    init(toolNames: Set<String>) {
        self.toolNames = toolNames
    }

    /// Takes more of the answer; returns what may be shown now.
    mutating func feed(_ text: String) -> String {
        pending += text
        var shown = ""
        while true {
            if !insideFence {
                guard let open = pending.range(of: "```") else {
                    // A trailing "`" or "``" may be the start of a fence.
                    let keep = pending.hasSuffix("``") ? 2 : pending.hasSuffix("`") ? 1 : 0
                    shown += pending.dropLast(keep)
                    pending = String(pending.suffix(keep))
                    return shown
                }
                shown += pending[..<open.lowerBound]
                pending = String(pending[open.lowerBound...])
                insideFence = true
            }
            guard let close = pending.range(of: "```", range: pending.index(pending.startIndex, offsetBy: 3)..<pending.endIndex) else { return shown }
            let block = String(pending[..<close.upperBound])
            pending = String(pending[close.upperBound...])
            insideFence = false
            if let call = call(in: block) {
                calls.append(call)
                // The line break that followed the block goes with it.
                if pending.hasPrefix("\n") { pending.removeFirst() }
            } else {
                shown += block
            }
        }
    }

    /// The end of the answer: whatever is held back is shown (an unclosed block is text).
    mutating func finish() -> String {
        defer {
            pending = ""
            insideFence = false
        }
        return pending
    }

    /// The call in ```` ```json {…} ``` ````, if the block is one: a JSON object naming an offered tool, with its
    /// arguments as an object (`arguments`, or `parameters` as some models write).
    private func call(in block: String) -> LLMToolCall? {
        var body = block.dropFirst(3).dropLast(3)
        if let newline = body.firstIndex(of: "\n") {
            let language = body[..<newline].trimmingCharacters(in: .whitespaces).lowercased()
            guard ["", "json", "tool_call"].contains(language) else { return nil }
            body = body[body.index(after: newline)...]
        }
        guard case .object(let object)? = JSONValue.parse(String(body).trimmingCharacters(in: .whitespacesAndNewlines)),
            case .string(let name)? = object["name"], toolNames.contains(name)
        else { return nil }
        let arguments: JSONValue =
            switch object["arguments"] ?? object["parameters"] {
            case .object(let fields)?: .object(fields)
            case .string(let text)?: JSONValue.parse(text) ?? .object([:])
            default: .object([:])
            }
        return LLMToolCall(id: "fenced_\(calls.count + 1)", name: name, arguments: arguments.jsonText)
    }
}
