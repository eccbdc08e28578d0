import Foundation
import NIOCore

/// A channel of the bus and who may listen to it (PRD 3.4.1).
public enum EventChannel: String, Sendable, CaseIterable {
    case safeguard
    case supervision
    case audit
    /// Internal: session revocations, acted on by every instance, never sent to a browser.
    case session

    public var minimumLevel: AccreditationLevel? {
        switch self {
        case .safeguard: .n1
        case .supervision: .n3
        case .audit: .n4
        case .session: nil
        }
    }

    /// The channels a client may ask for.
    public static let subscribable: [EventChannel] = [.safeguard, .supervision, .audit]
}

/// One row of `events`, with its JSON envelope encoded once for every client that receives it.
public struct StoredEvent: Sendable, Equatable {
    public let id: Int64
    public let channel: String
    public let type: String
    public let minimumLevel: AccreditationLevel
    /// `data` as Postgres printed it (valid JSON).
    public let dataJSON: String
    public let createdAt: Date

    /// `{"id", "type", "channel", "data", "at"}`, the wire format of the WebSocket and of the polling API.
    public let envelope: String
    /// The same bytes, shared by every socket that sends them (no per-client copy).
    public let envelopeBytes: ByteBuffer

    public init(id: Int64, channel: String, type: String, minimumLevel: AccreditationLevel, dataJSON: String, createdAt: Date) {
        self.id = id
        self.channel = channel
        self.type = type
        self.minimumLevel = minimumLevel
        self.dataJSON = dataJSON
        self.createdAt = createdAt
        self.envelope =
            #"{"id":\#(id),"type":\#(Self.quoted(type)),"channel":\#(Self.quoted(channel)),"data":\#(dataJSON),"at":"\#(createdAt.formatted(.iso8601))"}"#
        self.envelopeBytes = ByteBuffer(string: envelope)
    }

    /// Who may see this event: the channel's level and the row's own level, whichever is higher.
    public func isVisible(to level: AccreditationLevel) -> Bool {
        guard let channelLevel = EventChannel(rawValue: channel)?.minimumLevel else { return false }
        return level >= max(channelLevel, minimumLevel)
    }

    static func quoted(_ text: String) -> String {
        let data = try? JSONEncoder().encode(text)
        return data.flatMap { String(data: $0, encoding: .utf8) } ?? "\"\""
    }
}
