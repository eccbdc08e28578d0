import Foundation

/// What is going on now, for the Assistant WIDIP's prompt: the SENTINEL incidents still open and the SUPPORT tickets of
/// the last 24 hours left open or escalated, so that « pourquoi le wifi de Music Art ne marche pas ? » starts from the
/// alert SENTINEL already has. Kept short: every character of a prompt is read by the model. Told only to those who
/// may read SUPERVISION (N3+, PRD 3.4.1), as its dashboards are.
struct SupervisionSituation: Sendable {
    let drilldowns: DrilldownRepository
    let format: FrenchFormat

    static let minimumLevel = EventChannel.supervision.minimumLevel ?? .n3
    static let alerts = 5
    static let tickets = 3

    /// Nil when nothing is open (or the tables cannot be read: the answer goes on without it). `client` keeps it to
    /// one client (a conversation kept to that client).
    func summary(client: String?, now: Date = Date()) async -> String? {
        do {
            let open = try await drilldowns.openIncidents(client: client, limit: Self.alerts)
            let lastDay = DashboardPeriod.lastDay(before: now)
            let escalated = try await drilldowns.tickets(.init(period: lastDay, outcome: .escalated, client: client), limit: Self.tickets)
            let pending = try await drilldowns.tickets(.init(period: lastDay, outcome: .inProgress, client: client), limit: Self.tickets)
            var lines: [String] = []
            if open.total > 0 {
                let items = open.rows.map { alert in
                    var text = "\(alert.device ?? "équipement inconnu") (\(alert.client ?? "client inconnu")) depuis \(format.relativeInSentence(alert.detectedAt, now: now))"
                    text += ", responsabilité \(alert.responsibility)" + (alert.confidence.map { " \($0) %" } ?? "")
                    if alert.state == "diagnosing" { text += ", en attente du diagnostic du client" }
                    if let ticket = alert.ticketID { text += ", ticket #\(ticket)" }
                    return text
                }
                lines.append("- Alertes SENTINEL ouvertes (\(open.total)) : " + items.joined(separator: " ; "))
            }
            let tickets = escalated.rows + pending.rows
            if !tickets.isEmpty {
                let items = tickets.map { ticket in
                    "#\(ticket.ticketID ?? "?") \(ticket.category) \(SupervisionService.outcomeLabels[ticket.outcome] ?? ticket.outcome) (\(ticket.client ?? "client inconnu"))"
                }
                lines.append("- Tickets SUPPORT des dernières 24 h non résolus (\(escalated.total + pending.total)) : " + items.joined(separator: " ; "))
            }
            guard !lines.isEmpty else { return nil }
            return "Situation en cours (SUPERVISION) :\n" + lines.joined(separator: "\n")
        } catch {
            return nil
        }
    }
}
