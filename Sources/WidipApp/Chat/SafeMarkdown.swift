/// The Markdown a model writes, as HTML that cannot run anything: every character of the text is escaped first, then
/// only this subset is given meaning — headings, paragraphs, lists, quotes, fenced code blocks (with their language,
/// for highlighting), inline code, bold, italics and http(s) links. Raw HTML in an answer shows as text. (Ink, the
/// mirror's Markdown library, passes raw HTML through, which is what must never happen with model output.)
enum SafeMarkdown {
    static func html(_ markdown: String) -> String {
        var out = ""
        var paragraph: [String] = []
        var list: (ordered: Bool, items: [String])?
        var code: (language: String, lines: [String])?

        func flushParagraph() {
            guard !paragraph.isEmpty else { return }
            out += "<p>" + paragraph.map(inline).joined(separator: "<br>") + "</p>\n"
            paragraph = []
        }
        func flushList() {
            guard let current = list else { return }
            let tag = current.ordered ? "ol" : "ul"
            out += "<\(tag)>" + current.items.map { "<li>\(inline($0))</li>" }.joined() + "</\(tag)>\n"
            list = nil
        }

        for rawLine in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(rawLine)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if var block = code {
                if trimmed.hasPrefix("```") {
                    let language = block.language.isEmpty ? "" : " class=\"language-\(escape(block.language))\""
                    out += "<div class=\"code-block\"><pre><code\(language)>" + escape(block.lines.joined(separator: "\n")) + "</code></pre></div>\n"
                    code = nil
                } else {
                    block.lines.append(line)
                    code = block
                }
                continue
            }
            if trimmed.hasPrefix("```") {
                flushParagraph()
                flushList()
                let language = String(trimmed.dropFirst(3)).trimmingCharacters(in: .whitespaces).filter { $0.isLetter || $0.isNumber || "+-#_".contains($0) }
                code = (String(language.prefix(20)), [])
                continue
            }
            if trimmed.isEmpty {
                flushParagraph()
                flushList()
                continue
            }
            if let level = headingLevel(trimmed) {
                flushParagraph()
                flushList()
                // Headings inside an answer start at h3: the page has its own h1 and h2.
                let tag = "h\(min(6, level + 2))"
                out += "<\(tag)>\(inline(String(trimmed.dropFirst(level + 1))))</\(tag)>\n"
                continue
            }
            if let item = listItem(trimmed) {
                flushParagraph()
                if let current = list, current.ordered != item.ordered { flushList() }
                if list == nil { list = (item.ordered, []) }
                list?.items.append(item.text)
                continue
            }
            if trimmed.hasPrefix(">") {
                flushParagraph()
                flushList()
                out += "<blockquote>\(inline(String(trimmed.dropFirst()).trimmingCharacters(in: .whitespaces)))</blockquote>\n"
                continue
            }
            flushList()
            paragraph.append(trimmed)
        }
        if let block = code {
            // An answer cut off inside a code block (stopped, timed out) still shows it.
            out += "<div class=\"code-block\"><pre><code>" + escape(block.lines.joined(separator: "\n")) + "</code></pre></div>\n"
        }
        flushParagraph()
        flushList()
        return out
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    private static func headingLevel(_ line: String) -> Int? {
        let hashes = line.prefix(while: { $0 == "#" }).count
        guard (1...6).contains(hashes), line.dropFirst(hashes).first == " " else { return nil }
        return hashes
    }

    private static func listItem(_ line: String) -> (ordered: Bool, text: String)? {
        if line.hasPrefix("- ") || line.hasPrefix("* ") || line.hasPrefix("+ ") { return (false, String(line.dropFirst(2))) }
        let digits = line.prefix(while: \.isNumber)
        if !digits.isEmpty, digits.count <= 3, line.dropFirst(digits.count).hasPrefix(". ") {
            return (true, String(line.dropFirst(digits.count + 2)))
        }
        return nil
    }

    /// Inline code first (its content stays literal), then bold, italics and links on the escaped rest.
    static func inline(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "`") {
            out += emphasis(escape(String(rest[..<open])))
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "`") else {
                rest = rest[open...]
                break
            }
            out += "<code>" + escape(String(rest[afterOpen..<close])) + "</code>"
            rest = rest[rest.index(after: close)...]
        }
        return out + emphasis(escape(String(rest)))
    }

    private static func emphasis(_ escaped: String) -> String {
        var text = replacePairs(escaped, marker: "**", tag: "strong")
        text = replacePairs(text, marker: "*", tag: "em")
        return links(text)
    }

    private static func replacePairs(_ text: String, marker: String, tag: String) -> String {
        let parts = text.components(separatedBy: marker)
        guard parts.count >= 3 else { return text }
        var out = parts[0]
        var index = 1
        while index < parts.count {
            if index + 1 < parts.count, !parts[index].isEmpty, parts[index].first != " " {
                out += "<\(tag)>\(parts[index])</\(tag)>" + parts[index + 1]
                index += 2
            } else {
                out += marker + parts[index]
                index += 1
            }
        }
        return out
    }

    /// `[label](https://…)` with an http(s) target only; the text is already escaped, so quotes cannot break out.
    private static func links(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "[") {
            guard let close = rest[open...].firstIndex(of: "]"), rest.index(after: close) < rest.endIndex, rest[rest.index(after: close)] == "(",
                let end = rest[close...].firstIndex(of: ")")
            else { break }
            let label = rest[rest.index(after: open)..<close]
            let target = rest[rest.index(close, offsetBy: 2)..<end]
            out += rest[..<open]
            if target.hasPrefix("https://") || target.hasPrefix("http://"), !target.contains(" ") {
                out += "<a href=\"\(target)\" rel=\"noopener noreferrer\" target=\"_blank\">\(label)</a>"
            } else {
                out += rest[open...end]
            }
            rest = rest[rest.index(after: end)...]
        }
        return out + rest
    }
}
