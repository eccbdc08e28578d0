import Foundation
import MCP

/// The demo estate's live state, shared by every session: changes made by the action tools (a closed ticket, a
/// disabled account) are seen by every client until the server stops.
actor DemoEstate {
    private var tickets: [Int: DemoTicket]
    private var users: [String: DemoDirectoryUser]
    /// Results of action tools by (tool, approval id): a retried approved action returns its first result and changes
    /// nothing again.
    private var completedActions: [String: CallTool.Result] = [:]
    private var passwordCounter = 0

    init() {
        tickets = Dictionary(uniqueKeysWithValues: DemoData.tickets.map { ($0.id, $0) })
        users = Dictionary(uniqueKeysWithValues: DemoData.directoryUsers.map { ($0.username, $0) })
    }

    func call(_ tool: String, arguments: [String: Value]?, approvalID: String?) -> CallTool.Result {
        let actionKey = approvalID.map { "\(tool)|\($0)" }
        if let actionKey, let done = completedActions[actionKey] { return done }
        let result: CallTool.Result
        do {
            let arguments = try DemoArguments(tool: tool, values: arguments, accepted: DemoTools.accepted(by: tool))
            result = Self.success(try run(tool, arguments))
        } catch {
            return CallTool.Result(content: [.text(text: error.message, annotations: nil, _meta: nil)], isError: true)
        }
        if let actionKey, Self.changesState(tool) { completedActions[actionKey] = result }
        return result
    }

    static func changesState(_ tool: String) -> Bool {
        ["ad_reset_password", "glpi_close_ticket", "ad_disable_account", "ad_copy_groups_from"].contains(tool)
    }

    private static func success(_ value: Value) -> CallTool.Result {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)], structuredContent: Optional(value), isError: false)
    }

    private func run(_ tool: String, _ arguments: DemoArguments) throws(DemoToolError) -> Value {
        switch tool {
        case "observium_get_device_status": return try deviceStatus(arguments)
        case "observium_get_device_metrics": return try deviceMetrics(arguments)
        case "glpi_get_ticket_details": return try ticketDetails(arguments)
        case "glpi_search_client": return try searchClient(arguments)
        case "memory_search_similar_cases": return try similarCases(arguments)
        case "ad_check_user": return try checkUser(arguments)
        case "ad_reset_password": return try resetPassword(arguments)
        case "glpi_close_ticket": return try closeTicket(arguments)
        case "ad_disable_account": return try disableAccount(arguments)
        case "ad_copy_groups_from": return try copyGroups(arguments)
        default: throw DemoToolError("Outil inconnu : « \(tool) ».")
        }
    }

    // MARK: Observium

    private func device(_ arguments: DemoArguments) throws(DemoToolError) -> DemoDevice {
        let hostname = try arguments.string("hostname", example: "SWITCH-CLIN-STJEAN")
        if let device = DemoData.devices.first(where: { $0.hostname.caseInsensitiveCompare(hostname) == .orderedSame }) { return device }
        let suggestions = DemoText.closest(to: hostname, in: DemoData.devices.map(\.hostname))
        let hint = suggestions.isEmpty ? "" : " Vouliez-vous dire : \(suggestions.joined(separator: ", ")) ?"
        throw DemoToolError("Aucun équipement « \(hostname) » dans Observium.\(hint)")
    }

    private func deviceStatus(_ arguments: DemoArguments) throws(DemoToolError) -> Value {
        let device = try device(arguments)
        var value: [String: Value] = [
            "hostname": .string(device.hostname), "client": .string(clientName(device.entityID)), "entity_id": .int(device.entityID),
            "type": .string(device.kind), "model": .string(device.model), "ip": .string(device.ip), "location": .string(device.location),
            "status": .string(device.status.rawValue), "checked_at": .string(DemoData.referenceDate),
        ]
        if device.status == .down {
            value["down_for_minutes"] = .int(device.downForMinutes)
        } else {
            value["uptime_days"] = .int(device.uptimeDays)
        }
        if let ports = device.ports { value["ports"] = ["total": .int(ports.total), "up": .int(ports.up)] }
        value["alert"] = device.alert.map { .string($0) } ?? .null
        return .object(value)
    }

    private func deviceMetrics(_ arguments: DemoArguments) throws(DemoToolError) -> Value {
        let device = try device(arguments)
        let period = try arguments.optionalString("period") ?? "24h"
        let samples: (count: Int, stepMinutes: Int)
        switch period {
        case "1h": samples = (12, 5)
        case "24h": samples = (24, 60)
        case "7d": samples = (28, 360)
        default: throw DemoToolError("L'argument « period » doit valoir 1h, 24h ou 7d.")
        }
        var random = SeededRandom(seed: device.hostname + period)
        let down = device.status == .down
        let series: [Value] = (0..<samples.count).map { index in
            let reachable = !down || (samples.count - index) * samples.stepMinutes > device.downForMinutes
            guard reachable else { return ["minutes_ago": .int((samples.count - index - 1) * samples.stepMinutes), "reachable": false] }
            return [
                "minutes_ago": .int((samples.count - index - 1) * samples.stepMinutes), "reachable": true,
                "cpu_percent": .double(random.next(in: 4...(device.status == .warning ? 78 : 38))),
                "memory_percent": .double(random.next(in: 35...72)),
                "traffic_in_mbps": .double(random.next(in: 2...180)),
                "traffic_out_mbps": .double(random.next(in: 1...90)),
                "latency_ms": .double(random.next(in: 0.4...(device.status == .warning ? 24 : 3.5))),
            ]
        }
        let errors = device.alert?.contains("CRC") == true ? 1_284 : 0
        return [
            "hostname": .string(device.hostname), "client": .string(clientName(device.entityID)), "period": .string(period),
            "status": .string(device.status.rawValue), "interface_errors": .int(errors),
            "packet_loss_percent": .double(down ? 100 : (errors > 0 ? 2.4 : 0)), "samples": .array(series),
        ]
    }

    // MARK: GLPI

    private func ticket(_ arguments: DemoArguments) throws(DemoToolError) -> DemoTicket {
        let id = try arguments.integer("ticket_id", example: 1234)
        guard let ticket = tickets[id] else {
            let known = tickets.keys.sorted().map(String.init).joined(separator: ", ")
            throw DemoToolError("Aucun ticket n° \(id) dans GLPI. Tickets existants : \(known).")
        }
        return ticket
    }

    private func describe(_ ticket: DemoTicket) -> Value {
        [
            "ticket_id": .int(ticket.id), "title": .string(ticket.title), "description": .string(ticket.description),
            "client": .string(clientName(ticket.entityID)), "entity_id": .int(ticket.entityID), "status": .string(ticket.status),
            "priority": .string(ticket.priority), "category": .string(ticket.category), "requester": .string(ticket.requester),
            "created_at": .string(ticket.createdAt),
            "followups": .array(ticket.followups.map { ["date": .string($0.date), "author": .string($0.author), "content": .string($0.content)] }),
            "solution": ticket.solution.map { .string($0) } ?? .null, "closed_at": ticket.closedAt.map { .string($0) } ?? .null,
        ]
    }

    private func ticketDetails(_ arguments: DemoArguments) throws(DemoToolError) -> Value {
        describe(try ticket(arguments))
    }

    private func searchClient(_ arguments: DemoArguments) throws(DemoToolError) -> Value {
        let query = try arguments.string("query", example: "Clinique St-Jean")
        let limit = try arguments.optionalInteger("limit", default: 5, range: 1...20)
        let words = DemoText.words(query)
        guard !words.isEmpty else { throw DemoToolError("La recherche « \(query) » ne contient aucun mot utilisable.") }
        let matches = DemoData.clients
            .map { client in (client, DemoText.score(query: words, candidate: DemoText.words("\(client.name) \(client.kind) \(client.city)"))) }
            .filter { $0.1 >= 0.5 }
            .sorted { ($0.1, -$0.0.name.count) > ($1.1, -$1.0.name.count) }
            .prefix(limit)
        return [
            "query": .string(query), "count": .int(matches.count),
            "clients": .array(matches.map { client, score in
                [
                    "entity_id": .int(client.entityID), "name": .string(client.name), "type": .string(client.kind), "city": .string(client.city),
                    "contact": .string(client.contact), "phone": .string(client.phone), "match": .double((score * 100).rounded() / 100),
                    "devices": .array(DemoData.devices.filter { $0.entityID == client.entityID }.map { .string($0.hostname) }),
                    "open_tickets": .array(tickets.values.filter { $0.entityID == client.entityID && !["Résolu", "Clos"].contains($0.status) }
                        .map(\.id).sorted().map { .int($0) }),
                ]
            }),
        ]
    }

    private func closeTicket(_ arguments: DemoArguments) throws(DemoToolError) -> Value {
        var ticket = try ticket(arguments)
        let solution = try arguments.string("solution", example: "Mot de passe réinitialisé, utilisateur prévenu.")
        guard ticket.status != "Clos" else {
            throw DemoToolError("Le ticket n° \(ticket.id) est déjà clos depuis le \(ticket.closedAt ?? "?").")
        }
        ticket.status = "Clos"
        ticket.solution = solution
        ticket.closedAt = DemoData.referenceDate
        ticket.followups.append((DemoData.referenceDate, "WIDIP (action approuvée)", "Ticket clos : \(solution)"))
        tickets[ticket.id] = ticket
        return ["closed": true, "ticket": describe(ticket)]
    }

    // MARK: Memory

    private func similarCases(_ arguments: DemoArguments) throws(DemoToolError) -> Value {
        let query = try arguments.string("query", example: "switch Clinique St-Jean")
        let limit = try arguments.optionalInteger("limit", default: 5, range: 1...10)
        let words = Set(DemoText.words(query))
        guard !words.isEmpty else { throw DemoToolError("La recherche « \(query) » ne contient aucun mot utilisable.") }
        let ranked = DemoData.resolvedCases.map { item -> (DemoCase, Double) in
            let text = "\(item.title) \(item.symptom) \(item.resolution) \(item.tags.joined(separator: " ")) \(item.hostname ?? "") \(clientName(item.entityID))"
            let candidate = DemoText.words(text)
            return (item, DemoText.score(query: Array(words), candidate: candidate))
        }
        .filter { $0.1 > 0 }
        .sorted { ($0.1, $0.0.resolvedAt) > ($1.1, $1.0.resolvedAt) }
        .prefix(limit)
        return [
            "query": .string(query), "count": .int(ranked.count),
            "cases": .array(ranked.map { item, score in
                [
                    "reference": .string(item.reference), "title": .string(item.title), "client": .string(clientName(item.entityID)),
                    "hostname": item.hostname.map { .string($0) } ?? .null, "symptom": .string(item.symptom),
                    "resolution": .string(item.resolution), "resolved_at": .string(item.resolvedAt),
                    "similarity": .double((score * 100).rounded() / 100),
                ]
            }),
        ]
    }

    // MARK: Active Directory

    private func user(_ arguments: DemoArguments, _ name: String = "username", example: String = "jean.dupont") throws(DemoToolError) -> DemoDirectoryUser {
        let username = try arguments.string(name, example: example).lowercased()
        if let user = users[username] { return user }
        let suggestions = DemoText.closest(to: username, in: users.keys.sorted())
        let hint = suggestions.isEmpty ? "" : " Vouliez-vous dire : \(suggestions.joined(separator: ", ")) ?"
        throw DemoToolError("Aucun compte « \(username) » dans l'Active Directory.\(hint)")
    }

    private func describe(_ user: DemoDirectoryUser) -> Value {
        [
            "username": .string(user.username), "display_name": .string(user.displayName), "client": .string(clientName(user.entityID)),
            "title": .string(user.title), "enabled": .bool(user.enabled), "locked": .bool(user.locked), "failed_logins": .int(user.failedLogins),
            "last_logon": .string(user.lastLogon), "password_last_set": .string(user.passwordLastSet),
            "must_change_password": .bool(user.mustChangePassword), "groups": .array(user.groups.map { .string($0) }),
            "disabled_reason": user.disabledReason.map { .string($0) } ?? .null,
        ]
    }

    private func checkUser(_ arguments: DemoArguments) throws(DemoToolError) -> Value {
        describe(try user(arguments))
    }

    private func resetPassword(_ arguments: DemoArguments) throws(DemoToolError) -> Value {
        var user = try user(arguments)
        let mustChange = try arguments.optionalBool("must_change_at_next_logon", default: true)
        guard user.enabled else {
            throw DemoToolError("Le compte « \(user.username) » est désactivé : réactivez-le avant de réinitialiser son mot de passe.")
        }
        passwordCounter += 1
        user.locked = false
        user.failedLogins = 0
        user.passwordLastSet = DemoData.referenceDate
        user.mustChangePassword = mustChange
        users[user.username] = user
        let words = ["Azur", "Cedre", "Olive", "Lavande", "Garrigue", "Mistral", "Calanque"]
        let temporary = "\(words[passwordCounter % words.count])-\(4_000 + passwordCounter * 37 % 5_000)!"
        return ["reset": true, "temporary_password": .string(temporary), "user": describe(user)]
    }

    private func disableAccount(_ arguments: DemoArguments) throws(DemoToolError) -> Value {
        var user = try user(arguments, example: "marie.leroy")
        let reason = try arguments.optionalString("reason") ?? "Désactivé par WIDIP"
        guard user.enabled else {
            throw DemoToolError("Le compte « \(user.username) » est déjà désactivé (\(user.disabledReason ?? "motif inconnu")).")
        }
        user.enabled = false
        user.disabledReason = reason
        users[user.username] = user
        return ["disabled": true, "user": describe(user)]
    }

    private func copyGroups(_ arguments: DemoArguments) throws(DemoToolError) -> Value {
        let source = try user(arguments, "source_username", example: "sophie.bernard")
        var target = try user(arguments, "target_username", example: "paul.petit")
        guard source.username != target.username else { throw DemoToolError("Le compte source et le compte cible sont identiques.") }
        let added = source.groups.filter { !target.groups.contains($0) }
        target.groups += added
        users[target.username] = target
        return [
            "source": .string(source.username), "target": .string(target.username),
            "added_groups": .array(added.map { .string($0) }), "user": describe(target),
        ]
    }

    private func clientName(_ entityID: Int) -> String {
        DemoData.clients.first { $0.entityID == entityID }?.name ?? "Client \(entityID)"
    }
}

/// A small deterministic generator (SplitMix64) so that a device's metrics are the same on every start.
struct SeededRandom {
    private var state: UInt64

    init(seed: String) {
        state = seed.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    mutating func next(in range: ClosedRange<Double>) -> Double {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        z ^= z >> 31
        let unit = Double(z >> 11) / Double(1 << 53)
        return ((range.lowerBound + unit * (range.upperBound - range.lowerBound)) * 10).rounded() / 10
    }
}
