import Foundation

/// What a Phase 1 workflow reports through `POST /api/workflows/events` (PRD 2.3), validated. Each becomes a row of
/// the workflow tables; the row's trigger publishes the event, exactly as when Phase 1 writes the table itself.
enum WorkflowEvent: Sendable, Equatable {
    case ticketProcessed(TicketProcessed)
    case alertDetected(AlertReport)
    case error(WorkflowErrorReport)
    case healthChange(HealthCheck)
    case ingestionRun(IngestionRun)

    var type: String {
        switch self {
        case .ticketProcessed: "workflow:ticket_processed"
        case .alertDetected: "workflow:alert_detected"
        case .error: "workflow:error"
        case .healthChange: "workflow:health_change"
        case .ingestionRun: "workflow:ingestion_run"
        }
    }

    static let types = ["workflow:ticket_processed", "workflow:alert_detected", "workflow:error", "workflow:health_change", "workflow:ingestion_run"]
}

/// SUPPORT's ticket categories (PRD 3.3.2).
enum TicketCategory: String, Sendable, CaseIterable, Codable {
    case resetPassword = "RESET_MDP"
    case unlock = "DEBLOCAGE"
    case diagnosis = "#DIAG"
    case other = "AUTRE"
}

/// Where a processed ticket stands.
enum TicketOutcome: String, Sendable, CaseIterable, Codable {
    case resolved = "resolu"
    case inProgress = "en_cours"
    case escalated = "escalade"
}

/// SENTINEL's verdict on who is responsible for an outage (PRD 3.3.3).
enum Responsibility: String, Sendable, CaseIterable, Codable {
    case isp = "FAI"
    case local = "Local"
    case widip = "WIDIP"
    case undetermined = "Indéterminé"
}

/// An incident's state: open, waiting for the client's answer to a diagnosis (#DIAG), or resolved.
enum IncidentState: String, Sendable, CaseIterable, Codable {
    case open
    case diagnosing
    case resolved
}

enum HealthState: String, Sendable, CaseIterable, Codable {
    case ok
    case degraded
    case down
    case unknown
}

struct TicketProcessed: Sendable, Equatable {
    var ticketID: String
    var category: TicketCategory
    var outcome: TicketOutcome
    var autoResolved: Bool
    var client: String?
    var action: String?
    var error: String?
    var durationMs: Int?
    var correlationID: String?
    var at: Date
}

/// A SENTINEL report on an alert: opens its incident, or updates the open one of the same `alert_id`.
struct AlertReport: Sendable, Equatable {
    var alertID: String
    var device: String?
    var client: String?
    var state: IncidentState?
    var responsibility: Responsibility?
    var confidence: Int?
    var ticketID: String?
    var message: String?
    var severity: String?
    /// A step of the incident's timeline ("Ticket #4567 créé").
    var step: String?
    var correlationID: String?
    var at: Date
}

struct WorkflowErrorReport: Sendable, Equatable {
    var message: String
    var tool: String?
    var ticketID: String?
    var alertID: String?
    var attempts: Int?
    var recovered: Bool
    var correlationID: String?
    var at: Date
}

struct HealthCheck: Sendable, Equatable {
    var dependency: String
    var state: HealthState
    var latencyMs: Int?
    var detail: String?
    var at: Date
}

struct IngestionRun: Sendable, Equatable {
    var runID: String
    var source: String
    var status: String
    var added: Int
    var updated: Int
    var removed: Int
    var error: String?
    var startedAt: Date
    var finishedAt: Date
}

/// The body of `POST /api/workflows/events`, as sent; `WorkflowEventInput.validated` turns it into a `WorkflowEvent`
/// or a 400 naming the field.
struct WorkflowEventInput: Decodable {
    let type: String
    let eventID: String
    let occurredAt: String?
    let correlationID: String?
    let data: [String: JSONValue]

    enum CodingKeys: String, CodingKey {
        case type, data
        case eventID = "event_id"
        case occurredAt = "occurred_at"
        case correlationID = "correlation_id"
    }

    /// How far ahead of this server's clock an event may claim to be (clocks drift; a day ahead is a bug).
    static let clockSkew: TimeInterval = 300

    func validated(now: Date) throws -> WorkflowEvent {
        let fields = EventFields(data)
        let at = try Self.time(occurredAt, field: "occurred_at", now: now) ?? now
        let correlation = try EventFields.text(correlationID, field: "correlation_id", limit: 100)
        switch type {
        case "workflow:ticket_processed":
            let outcome: TicketOutcome = try fields.choice("status")
            return .ticketProcessed(
                TicketProcessed(
                    ticketID: try fields.requiredText("ticket_id", limit: 50), category: try fields.choice("category"), outcome: outcome,
                    autoResolved: try fields.bool("auto_resolved") ?? false, client: try fields.text("client", limit: 200),
                    action: try fields.text("action", limit: 2000), error: try fields.text("error", limit: 2000),
                    durationMs: try fields.integer("duration_ms", range: 0...86_400_000), correlationID: correlation, at: at
                )
            )
        case "workflow:alert_detected":
            return .alertDetected(
                AlertReport(
                    alertID: try fields.requiredText("alert_id", limit: 80), device: try fields.text("device", limit: 200),
                    client: try fields.text("client", limit: 200), state: try fields.optionalChoice("state"),
                    responsibility: try fields.optionalChoice("responsibility"), confidence: try fields.integer("confidence", range: 0...100),
                    ticketID: try fields.text("ticket_id", limit: 50), message: try fields.text("message", limit: 2000),
                    severity: try fields.text("severity", limit: 20), step: try fields.text("step", limit: 500), correlationID: correlation, at: at
                )
            )
        case "workflow:error":
            return .error(
                WorkflowErrorReport(
                    message: try fields.requiredText("message", limit: 2000), tool: try fields.text("tool", limit: 128),
                    ticketID: try fields.text("ticket_id", limit: 50), alertID: try fields.text("alert_id", limit: 80),
                    attempts: try fields.integer("attempts", range: 1...1000), recovered: try fields.bool("recovered") ?? false,
                    correlationID: correlation, at: at
                )
            )
        case "workflow:health_change":
            let dependency = try fields.requiredText("dependency", limit: 50)
            guard dependency.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-".contains($0)) }) else {
                throw AppError.invalidField("data.dependency", "Nom de dépendance en lettres, chiffres, « _ » ou « - » (glpi, observium, mcp…).")
            }
            return .healthChange(
                HealthCheck(
                    dependency: dependency.lowercased(), state: try fields.choice("status"), latencyMs: try fields.integer("latency_ms", range: 0...3_600_000),
                    detail: try fields.text("detail", limit: 500), at: at
                )
            )
        case "workflow:ingestion_run":
            let started = try Self.time(try fields.text("started_at", limit: 40), field: "data.started_at", now: now) ?? at
            guard started <= at else { throw AppError.invalidField("data.started_at", "Le début de l'exécution suit sa fin (occurred_at).") }
            let status = try fields.text("status", limit: 20) ?? "success"
            guard ["success", "partial", "failed"].contains(status) else {
                throw AppError.invalidField("data.status", "Valeurs admises : success, partial, failed.")
            }
            return .ingestionRun(
                IngestionRun(
                    runID: try fields.requiredText("run_id", limit: 200), source: try fields.requiredText("source", limit: 100), status: status,
                    added: try fields.integer("added", range: 0...10_000_000) ?? 0, updated: try fields.integer("updated", range: 0...10_000_000) ?? 0,
                    removed: try fields.integer("removed", range: 0...10_000_000) ?? 0, error: try fields.text("error", limit: 2000),
                    startedAt: started, finishedAt: at
                )
            )
        default:
            throw AppError.invalidField("type", "Type d'événement inconnu. Types admis : \(WorkflowEvent.types.joined(separator: ", ")).")
        }
    }

    func validatedEventID() throws -> String {
        guard let id = try EventFields.text(eventID, field: "event_id", limit: 200) else {
            throw AppError.invalidField("event_id", "Identifiant d'événement requis : le même à chaque nouvel essai, pour ne rien enregistrer deux fois.")
        }
        return id
    }

    static func time(_ text: String?, field: String, now: Date) throws -> Date? {
        guard let text else { return nil }
        guard let date = StrictDate.parse(text, dayIn: TimeZone(identifier: "UTC")!), text.contains("T") else {
            throw AppError.invalidField(field, "Date et heure RFC 3339 attendues, par exemple 2026-12-04T14:32:15Z.")
        }
        guard date.timeIntervalSince(now) <= clockSkew else {
            throw AppError.invalidField(field, "Cette date est dans le futur : vérifiez l'horloge du workflow.")
        }
        return date
    }
}

/// The `data` object of an event, read field by field with errors that name `data.<field>`.
struct EventFields {
    let values: [String: JSONValue]

    init(_ values: [String: JSONValue]) { self.values = values }

    func text(_ name: String, limit: Int) throws -> String? {
        switch values[name] {
        case nil, .null?: return nil
        case .string(let text)?: return try Self.text(text, field: "data." + name, limit: limit)
        default: throw AppError.invalidField("data." + name, "Texte attendu.")
        }
    }

    func requiredText(_ name: String, limit: Int) throws -> String {
        guard let text = try text(name, limit: limit) else { throw AppError.invalidField("data." + name, "Ce champ est obligatoire.") }
        return text
    }

    func bool(_ name: String) throws -> Bool? {
        switch values[name] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw AppError.invalidField("data." + name, "true ou false attendu.")
        }
    }

    func integer(_ name: String, range: ClosedRange<Int>) throws -> Int? {
        switch values[name] {
        case nil, .null?: return nil
        case .number(let value)? where value.rounded() == value && value >= Double(range.lowerBound) && value <= Double(range.upperBound):
            return Int(value)
        default: throw AppError.invalidField("data." + name, "Entier entre \(range.lowerBound) et \(range.upperBound) attendu.")
        }
    }

    func choice<Value: RawRepresentable & CaseIterable>(_ name: String) throws -> Value where Value.RawValue == String {
        guard let value: Value = try optionalChoice(name) else { throw AppError.invalidField("data." + name, "Ce champ est obligatoire.") }
        return value
    }

    func optionalChoice<Value: RawRepresentable & CaseIterable>(_ name: String) throws -> Value? where Value.RawValue == String {
        guard let raw = try text(name, limit: 50) else { return nil }
        guard let value = Value(rawValue: raw) else {
            throw AppError.invalidField("data." + name, "Valeurs admises : \(Value.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        return value
    }

    /// Trimmed, NUL refused (PostgreSQL's text cannot hold it), empty read as absent. The limit counts characters
    /// as the API's schema does (code points), before trimming.
    static func text(_ text: String?, field: String, limit: Int) throws -> String? {
        guard let text else { return nil }
        guard !text.unicodeScalars.contains("\u{0}") else { throw AppError.invalidField(field, "Le caractère NUL n'est pas accepté.") }
        guard text.unicodeScalars.count <= limit else { throw AppError.invalidField(field, "Trop long (\(limit) caractères au plus).") }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }
}
