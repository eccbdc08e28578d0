import Foundation
import Hummingbird

/// A table as a spreadsheet opens it: `;` separators and a BOM, as French Excel expects.
struct CSVDocument: ResponseGenerator {
    let filename: String
    let header: [String]
    let rows: [[String?]]

    var text: String {
        var lines = [header.map(Self.cell).joined(separator: ";")]
        for row in rows { lines.append(row.map { Self.cell($0 ?? "") }.joined(separator: ";")) }
        return "\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n"
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(filename)\""],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }

    /// Quoted when needed; a cell starting like a formula is prefixed so a spreadsheet shows it as text.
    static func cell(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        guard value.contains(where: { ";\"\n\r".contains($0) }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
