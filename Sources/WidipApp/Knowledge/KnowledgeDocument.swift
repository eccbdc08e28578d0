import Crypto
import Foundation

/// Where a piece of knowledge comes from, as the assistant names it next to a source.
enum KnowledgeSourceType: String, Sendable, CaseIterable {
    case procedure
    /// A resolved ticket.
    case ticket
    /// A client's documentation.
    case documentation

    var label: String {
        switch self {
        case .procedure: "Procédure"
        case .ticket: "Ticket résolu"
        case .documentation: "Documentation client"
        }
    }
}

/// One Markdown or text file of the knowledge base, with what its front matter says about it:
///
///     ---
///     titre: Switch de la Clinique Saint-Jean : perte de liaison
///     type: ticket
///     client: Clinique Saint-Jean
///     ticket: GLPI-2024-0412
///     lien: https://glpi.widip.fr/front/ticket.form.php?id=412
///     maj: 2024-03-14
///     ---
///
/// Without front matter the title is the first `# ` heading, or the file's name, and the type is `procedure`.
struct KnowledgeDocument: Sendable, Equatable {
    /// Names the document across imports (the file's path under the imported folder).
    let key: String
    let title: String
    let type: KnowledgeSourceType
    let client: String?
    let url: String?
    let ticketID: String?
    let updatedAt: Date?
    let body: String

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(key: String, text: String, fallbackTitle: String, fallbackDate: Date?) throws -> KnowledgeDocument {
        var body = text.replacingOccurrences(of: "\r\n", with: "\n")
        var fields: [String: String] = [:]
        if body.hasPrefix("---\n"), let end = body.range(of: "\n---\n", range: body.index(body.startIndex, offsetBy: 4)..<body.endIndex) {
            for line in body[body.index(body.startIndex, offsetBy: 4)..<end.lowerBound].split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if !value.isEmpty { fields[name] = value }
            }
            body = String(body[end.upperBound...])
        }
        let type: KnowledgeSourceType
        if let raw = fields["type"] {
            guard let known = KnowledgeSourceType(rawValue: raw.lowercased()) else {
                throw Invalid(description: "\(key) : type « \(raw) » inconnu (procedure, ticket ou documentation)")
            }
            type = known
        } else {
            type = .procedure
        }
        var updatedAt = fallbackDate
        if let raw = fields["maj"] {
            guard let date = Self.day(raw) else { throw Invalid(description: "\(key) : date « \(raw) » illisible (AAAA-MM-JJ attendu)") }
            updatedAt = date
        }
        let heading = body.split(separator: "\n").first { $0.hasPrefix("# ") }.map { String($0.dropFirst(2)).trimmingCharacters(in: .whitespaces) }
        return KnowledgeDocument(
            key: key, title: fields["titre"] ?? heading ?? fallbackTitle, type: type, client: fields["client"], url: fields["lien"],
            ticketID: fields["ticket"], updatedAt: updatedAt, body: body.trimmingCharacters(in: .whitespacesAndNewlines)
        )
    }

    private static func day(_ text: String) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { return nil }
        return calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2]))
    }

    /// The document cut into chunks of about `size` characters at paragraph (then line, then word) boundaries, each
    /// starting with the end of the previous one (`overlap` characters) so that a fact cut in two is still found
    /// whole. Each chunk starts with the title: a chunk read alone by the model still says what it is about.
    func chunks(size: Int = 900, overlap: Int = 150) -> [String] {
        let paragraphs = body.components(separatedBy: "\n\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        var pieces: [String] = []
        for paragraph in paragraphs {
            if paragraph.count <= size {
                pieces.append(paragraph)
            } else {
                pieces += Self.split(paragraph, size: size)
            }
        }
        var chunks: [String] = []
        var current = ""
        for piece in pieces {
            if current.isEmpty {
                current = piece
            } else if current.count + 2 + piece.count <= size {
                current += "\n\n" + piece
            } else {
                chunks.append(current)
                current = Self.tail(of: current, overlap) + piece
            }
        }
        if !current.isEmpty { chunks.append(current) }
        if chunks.isEmpty { chunks = [""] }
        return chunks.map { "\(title)\n\n\($0)".trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// A paragraph longer than a chunk, cut at line then word boundaries.
    private static func split(_ text: String, size: Int) -> [String] {
        var pieces: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !current.isEmpty && current.count + 1 + word.count > size {
                pieces.append(current)
                current = String(word)
            } else {
                current += current.isEmpty ? String(word) : " " + word
            }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    /// The last `count` characters of `text`, from a word boundary, as the start of the next chunk.
    private static func tail(of text: String, _ count: Int) -> String {
        guard count > 0, text.count > count else { return "" }
        let start = text.index(text.endIndex, offsetBy: -count)
        let fromWord = text[start...].firstIndex(of: " ").map { text.index(after: $0) } ?? start
        return "…" + text[fromWord...] + "\n\n"
    }

    static func hash(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
