import NIOCore
import Foundation

/// Incremental `text/event-stream` parser: yields the data of each `message` event (the default type), joining
/// multi-line data, across arbitrary chunk boundaries.
struct ServerSentEventParser {
    private var pending = [UInt8]()
    private var eventType: String?
    private var dataLines = [String]()

    mutating func feed(_ chunk: ByteBuffer) -> [Data] {
        pending.append(contentsOf: chunk.readableBytesView)
        var messages = [Data]()
        // Lines are cut from `start` on and the consumed prefix dropped once: a streamed LLM answer is many small
        // events, and dropping each line separately would move the rest of the buffer every time.
        var start = 0
        while let newline = pending[start...].firstIndex(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
            var end = newline
            var consumed = newline + 1
            if pending[newline] == UInt8(ascii: "\r") {
                // A lone CR at the chunk's end may be the first half of CRLF: wait for the next chunk.
                if consumed == pending.count { break }
                if pending[consumed] == UInt8(ascii: "\n") { consumed += 1 }
            }
            if end > start, pending[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let line = String(decoding: pending[start..<end], as: UTF8.self)
            start = consumed
            if let message = take(line: line) { messages.append(message) }
        }
        pending.removeFirst(start)
        return messages
    }

    mutating func finish() -> [Data] {
        var messages = [Data]()
        if !pending.isEmpty, let message = take(line: String(decoding: pending, as: UTF8.self)) { messages.append(message) }
        pending.removeAll()
        if let message = take(line: "") { messages.append(message) }
        return messages
    }

    private mutating func take(line: String) -> Data? {
        if line.isEmpty {
            defer { eventType = nil; dataLines.removeAll() }
            guard !dataLines.isEmpty, eventType == nil || eventType == "message" else { return nil }
            let data = dataLines.joined(separator: "\n")
            return data.trimmingCharacters(in: .whitespaces).isEmpty ? nil : Data(data.utf8)
        }
        if line.hasPrefix(":") { return nil }
        let field: Substring, value: Substring
        if let colon = line.firstIndex(of: ":") {
            field = line[..<colon]
            let rest = line[line.index(after: colon)...]
            value = rest.first == " " ? rest.dropFirst() : rest
        } else {
            field = Substring(line)
            value = ""
        }
        switch field {
        case "data": dataLines.append(String(value))
        case "event": eventType = String(value)
        default: break
        }
        return nil
    }
}
