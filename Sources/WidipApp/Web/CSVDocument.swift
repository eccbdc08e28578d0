import Foundation
import HTTPTypes
import Hummingbird

/// A table as a spreadsheet opens it: `;` separators and a BOM, as French Excel expects.
struct CSVDocument: ResponseGenerator {
    let filename: String
    let header: [String]
    let rows: [[String?]]
    /// How many rows matched, when more than the document holds (`X-Total-Count`).
    var total: Int? = nil

    var text: String {
        var lines = [header.map(Self.cell).joined(separator: ";")]
        for row in rows { lines.append(row.map { Self.cell($0 ?? "") }.joined(separator: ";")) }
        return "\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n"
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(filename)\""]
        if let total { headers[HTTPField.Name("X-Total-Count")!] = String(total) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Quoted when needed; a cell starting like a formula is prefixed so a spreadsheet shows it as text.
    static func cell(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        guard value.contains(where: { ";\"\n\r".contains($0) }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
