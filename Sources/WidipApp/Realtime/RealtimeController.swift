import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOWebSocket

/// `WS /api/ws` (and the PRD's per-module paths) and the polling fallback `GET /api/events`.
///
/// Protocol: after connecting, the client sends `{"subscribe": ["safeguard", …], "resume_from": <id|null>}`; the
/// server answers `{"type": "subscribed", "channels": […], "refused": […], "last_id": N}`, replays what the client
/// missed, then streams live envelopes `{"id", "type", "channel", "data", "at"}`. `{"type": "resync"}` means the
/// missed events are gone (retention) or too many: reload the page's data.
struct RealtimeController {
    /// Channels are filtered by level inside (safeguard N1, supervision N3, audit N4).
    static let accessRules = [
        RouteRule(.get, "/api/ws", .level(.n0)),
        RouteRule(.get, "/api/safeguard/ws", .level(.n1)),
        RouteRule(.get, "/api/supervision/ws", .level(.n3)),
        RouteRule(.get, "/api/events", .level(.n0)),
    ]
    static let replayLimit = 1000
    static let pollLimit = 200

    let hub: EventHub
    let events: EventRepository
    let trustedOrigins: Set<String>
    let logger: Logger

    struct SubscribeRequest: Decodable {
        let subscribe: [String]?
        let resumeFrom: Int64?

        enum CodingKeys: String, CodingKey {
            case subscribe
            case resumeFrom = "resume_from"
        }
    }

    func addRoutes(to routes: ModuleRoutes) {
        for (path, channel) in [("/api/ws", nil), ("/api/safeguard/ws", EventChannel.safeguard), ("/api/supervision/ws", .supervision)] {
            routes.signedInWebSocket(path, shouldUpgrade: shouldUpgrade) { inbound, outbound, identity in
                try await serve(inbound: inbound, outbound: outbound, identity: identity, fixedChannel: channel)
            }
        }
        routes.signedIn.get("/api/events") { request, context in try await poll(request, identity: context.identity) }
    }

    /// Runs before any byte of WebSocket: the access middleware already required a live session of the route's level.
    @Sendable func shouldUpgrade(_ request: Request, identity: Identity) async throws -> RouterShouldUpgrade {
        guard request.headers[.upgrade]?.lowercased() == "websocket" else {
            throw AppError(.badRequest, code: "websocket_expected", "Cette adresse attend une connexion WebSocket.")
        }
        // Cross-site WebSocket hijacking: a page on another site can open a socket that carries the session cookie.
        // Browsers always send their page's http(s) Origin: it must be this site or a trusted one. A script with a
        // bearer token (its library may send a ws:// Origin or none) hijacks nothing.
        let origin = request.headers[.origin]
        let fromAWebPage = origin.map { $0.hasPrefix("http://") || $0.hasPrefix("https://") || $0.contains(",") } ?? false
        if identity.viaCookie || fromAWebPage {
            guard let origin, request.isFromTrusted(origin: origin, trusted: trustedOrigins) else {
                throw AppError(.forbidden, code: "ws_origin", "Connexion refusée : elle ne provient pas de ce site.")
            }
        }
        return .upgrade([:])
    }

    func allowedChannels(_ requested: [String], level: AccreditationLevel) -> (allowed: [EventChannel], refused: [String]) {
        var allowed: [EventChannel] = []
        var refused: [String] = []
        for name in requested {
            if let channel = EventChannel(rawValue: name), EventChannel.subscribable.contains(channel), let minimum = channel.minimumLevel, level >= minimum {
                if !allowed.contains(channel) { allowed.append(channel) }
            } else {
                refused.append(name)
            }
        }
        return (allowed, refused)
    }

    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, identity: Identity, fixedChannel: EventChannel?) async throws {
        let (requests, requestsContinuation) = AsyncStream.makeStream(of: SubscribeRequest.self, bufferingPolicy: .bufferingNewest(1))
        if let fixedChannel { requestsContinuation.yield(SubscribeRequest(subscribe: [fixedChannel.rawValue], resumeFrom: nil)) }

        try await withThrowingTaskGroup(of: Void.self) { group in
            // An expired session closes its sockets even though no event announces it.
            group.addTask {
                let remaining = identity.expiresAt.timeIntervalSinceNow
                try await Task.sleep(for: .milliseconds(Int64(max(0, remaining) * 1000)))
                try? await outbound.close(.init(codeNumber: SubscriptionEnd.sessionEnded.closeCode), reason: SubscriptionEnd.sessionEnded.reason)
            }
            // One subscription at a time; a new subscribe message replaces it.
            group.addTask {
                var pump: Task<Void, Never>?
                for await request in requests {
                    pump?.cancel()
                    await pump?.value
                    let requested = fixedChannel.map { [$0.rawValue] } ?? (request.subscribe ?? [])
                    let channels = allowedChannels(requested, level: identity.user.level)
                    let subscription = Subscription(
                        sessionID: identity.sessionID, level: identity.user.level,
                        channels: Set(channels.allowed.map(\.rawValue))
                    )
                    pump = Task {
                        do {
                            // The server ending a subscription (slow client, revoked session, shutdown) ends the socket.
                            if let end = try await stream(subscription, refused: channels.refused, resumeFrom: request.resumeFrom, to: outbound) {
                                try? await outbound.close(.init(codeNumber: end.closeCode), reason: end.reason)
                            }
                        } catch {
                            logger.debug("WebSocket subscription ended", metadata: ["error": "\(String(reflecting: error))"])
                        }
                    }
                }
                pump?.cancel()
                await pump?.value
            }
            // Client messages, until the socket closes (by the client, or after the server's close frame).
            var messages = inbound.messages(maxSize: 64 * 1024).makeAsyncIterator()
            while let message = try await messages.next() {
                guard case .text(let text) = message, let request = try? JSONDecoder().decode(SubscribeRequest.self, from: Data(text.utf8)) else {
                    try await outbound.write(.text(#"{"type":"error","message":"Message incompris : envoyez {\"subscribe\": [...], \"resume_from\": null}."}"#))
                    continue
                }
                requestsContinuation.yield(request)
            }
            requestsContinuation.finish()
            group.cancelAll()
        }
    }

    /// Registers, replays what was missed, then forwards live events; returns why the server ended it, if it did.
    func stream(_ subscription: Subscription, refused: [String], resumeFrom: Int64?, to outbound: WebSocketOutboundWriter) async throws -> SubscriptionEnd? {
        await hub.add(subscription)
        defer { Task { [hub] in await hub.remove(subscription) } }
        let channels = Array(subscription.channels).sorted()
        var sentThrough = try await events.latestID()
        var replay: [StoredEvent] = []
        var resync = false
        if let resumeFrom {
            if try await events.prunedThrough() > resumeFrom {
                resync = true
            } else {
                let missed = try await events.events(after: resumeFrom, channels: channels, limit: Self.replayLimit + 1)
                if missed.count > Self.replayLimit {
                    resync = true
                } else {
                    replay = missed.filter { $0.isVisible(to: subscription.level) }
                    sentThrough = max(resumeFrom, missed.last?.id ?? resumeFrom)
                }
            }
        }
        try await outbound.write(.text(Self.subscribedMessage(channels: channels, refused: refused, lastID: sentThrough)))
        if resync { try await outbound.write(.text(#"{"type":"resync"}"#)) }
        for event in replay { try await Self.send(event, to: outbound) }
        // Live events already covered by the replay (or older than the subscription) are skipped: ids follow commit order.
        for await event in subscription.events where event.id > sentThrough {
            try await Self.send(event, to: outbound)
            sentThrough = event.id
        }
        return subscription.end
    }

    /// A text frame over the event's shared bytes: one encoding per event, whatever the number of clients.
    static func send(_ event: StoredEvent, to outbound: WebSocketOutboundWriter) async throws {
        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: event.envelopeBytes)))
    }

    static func subscribedMessage(channels: [String], refused: [String], lastID: Int64) -> String {
        func list(_ names: [String]) -> String { "[" + names.map(StoredEvent.quoted).joined(separator: ",") + "]" }
        return #"{"type":"subscribed","channels":\#(list(channels)),"refused":\#(list(refused)),"last_id":\#(lastID)}"#
    }

    /// `GET /api/events?channels=a,b&after=<id>&limit=<n>`: the same events for clients that cannot keep a socket.
    func poll(_ request: Request, identity: Identity) async throws -> Response {
        let query = request.formQuery
        guard (query["channels"]?.count ?? 0) <= 200 else { throw AppError.invalidField("channels", "Trop long (200 caractères au plus).") }
        let requested = query["channels"].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } } ?? []
        guard !requested.isEmpty else { throw AppError.invalidField("channels", "Indiquez au moins un canal (safeguard, supervision, audit).") }
        let channels = allowedChannels(requested, level: identity.user.level)
        var limit = Self.pollLimit
        if let raw = query["limit"] {
            guard let value = Int(raw), (1...Self.pollLimit).contains(value) else {
                throw AppError.invalidField("limit", "Doit être un entier entre 1 et \(Self.pollLimit).")
            }
            limit = value
        }
        var body: String
        let names = channels.allowed.map(\.rawValue)
        if let raw = query["after"] {
            guard let after = Int64(raw), after >= 0 else { throw AppError.invalidField("after", "Doit être un identifiant d'événement (entier positif).") }
            if try await events.prunedThrough() > after {
                body = Self.pollBody(events: [], lastID: try await events.latestID(), resync: true, channels: names, refused: channels.refused)
            } else {
                let page = names.isEmpty ? [] : try await events.events(after: after, channels: names, limit: limit)
                let visible = page.filter { $0.isVisible(to: identity.user.level) }
                body = Self.pollBody(events: visible, lastID: page.last?.id ?? after, resync: false, channels: names, refused: channels.refused)
            }
        } else {
            body = Self.pollBody(events: [], lastID: try await events.latestID(), resync: false, channels: names, refused: channels.refused)
        }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func pollBody(events: [StoredEvent], lastID: Int64, resync: Bool, channels: [String], refused: [String]) -> String {
        func list(_ names: [String]) -> String { "[" + names.map(StoredEvent.quoted).joined(separator: ",") + "]" }
        return #"{"events":[\#(events.map(\.envelope).joined(separator: ","))],"last_id":\#(lastID),"resync":\#(resync),"channels":\#(list(channels)),"refused":\#(list(refused))}"#
    }
}
