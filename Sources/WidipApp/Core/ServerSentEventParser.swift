import NIOCore
import Foundation

/// Incremental `text/event-stream` parser: yields the data of each `message` event (the default type), joining
/// multi-line data, across arbitrary chunk boundaries. It works on bytes: a streamed LLM answer is one event per
/// token, and going through `String` (with Foundation's trimming) for every line cost as much as the JSON decoding.
struct ServerSentEventParser {
    private var pending = [UInt8]()
    /// The event's type when one was given; nil means `message`.
    private var eventType: [UInt8]?
    private var data = [UInt8]()
    private var hasData = false

    mutating func feed(_ chunk: ByteBuffer) -> [Data] {
        pending.append(contentsOf: chunk.readableBytesView)
        var messages = [Data]()
        // Lines are cut from `start` on and the consumed prefix dropped once: dropping each line separately would move
        // the rest of the buffer every time.
        var start = 0
        while let newline = pending[start...].firstIndex(where: { $0 == Self.lineFeed || $0 == Self.carriageReturn }) {
            var end = newline
            var consumed = newline + 1
            if pending[newline] == Self.carriageReturn {
                // A lone CR at the chunk's end may be the first half of CRLF: wait for the next chunk.
                if consumed == pending.count { break }
                if pending[consumed] == Self.lineFeed { consumed += 1 }
            }
            if end > start, pending[end - 1] == Self.carriageReturn { end -= 1 }
            let message = take(line: pending[start..<end])
            start = consumed
            if let message { messages.append(message) }
        }
        pending.removeFirst(start)
        return messages
    }

    mutating func finish() -> [Data] {
        var messages = [Data]()
        if !pending.isEmpty, let message = take(line: pending[...]) { messages.append(message) }
        pending.removeAll()
        if let message = take(line: []) { messages.append(message) }
        return messages
    }

    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let colon = UInt8(ascii: ":")
    private static let space = UInt8(ascii: " ")

    private mutating func take(line: ArraySlice<UInt8>) -> Data? {
        if line.isEmpty {
            defer {
                eventType = nil
                data.removeAll(keepingCapacity: true)
                hasData = false
            }
            guard hasData, eventType == nil || eventType!.elementsEqual("message".utf8) else { return nil }
            return data.allSatisfy({ $0 == Self.space || $0 == UInt8(ascii: "\t") }) ? nil : Data(data)
        }
        if line.first == Self.colon { return nil }
        let field: ArraySlice<UInt8>
        var value: ArraySlice<UInt8>
        if let colon = line.firstIndex(of: Self.colon) {
            field = line[..<colon]
            value = line[(colon + 1)...]
            if value.first == Self.space { value = value.dropFirst() }
        } else {
            field = line
            value = []
        }
        if field.elementsEqual("data".utf8) {
            if hasData { data.append(Self.lineFeed) }
            data.append(contentsOf: value)
            hasData = true
        } else if field.elementsEqual("event".utf8) {
            eventType = Array(value)
        }
        return nil
    }
}
