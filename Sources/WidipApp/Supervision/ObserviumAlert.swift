import Foundation

/// One notification of Observium's "Webhook JSON" transport (SENTINEL's trigger, PRD 2.1). Observium's default
/// template is a flat object whose values are all strings, numbers and times included; admins edit the template, so
/// extra keys are ignored and a number where a string is expected is read as its text.
struct ObserviumAlert: Sendable, Equatable {
    enum Kind: String, Sendable {
        /// A firing alert, first notification or reminder.
        case firing
        case recovery
    }

    let alertID: String
    let kind: Kind
    /// ALERT_STATE as sent (with ALERT_UNIXTIME and ALERT_ID, the key of a delivery: a retry repeats all three).
    let state: String
    let at: Date
    let device: String
    let client: String?
    let message: String?
    let severity: String?

    /// The key under which a delivery is remembered: Observium resends the same (ALERT_ID, state, time) on a retry,
    /// and a reminder repeats the firing state with a later time.
    var deliveryKey: String { "\(alertID)|\(state)|\(Int(at.timeIntervalSince1970))" }

    /// Observium's ALERT_STATUS, for a template without ALERT_STATE: 0 alert, 1 recovery, 2 delayed, 3 suppressed.
    private static let statusKinds: [String: Kind?] = ["0": .firing, "1": .recovery, "2": nil, "3": nil]

    static func parse(_ body: [String: JSONValue]) throws -> ObserviumAlert {
        func scalar(_ key: String) throws -> String? {
            switch body[key] {
            case nil, .null?: return nil
            case .string(let text)?:
                guard !text.unicodeScalars.contains("\u{0}") else { throw AppError.invalidField(key, "Le caractère NUL n'est pas accepté.") }
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                return trimmed.isEmpty ? nil : trimmed
            // A whole number as its digits, when it fits (1e19 does not: read as written, "1e+19").
            case .number(let number)?: return Int64(exactly: number).map(String.init) ?? String(number)
            case .bool(let flag)?: return flag ? "1" : "0"
            default: throw AppError.invalidField(key, "Valeur simple attendue (le modèle Observium envoie des chaînes).")
            }
        }
        // Cut to what the columns hold, counted as PostgreSQL counts (code points).
        func limited(_ key: String, _ limit: Int) throws -> String? {
            guard let text = try scalar(key) else { return nil }
            return text.unicodeScalars.count <= limit ? text : String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit)))
        }

        guard let alertID = try scalar("ALERT_ID") else { throw AppError.invalidField("ALERT_ID", "Identifiant d'alerte Observium requis.") }
        guard alertID.unicodeScalars.count <= 80 else { throw AppError.invalidField("ALERT_ID", "Trop long (80 caractères au plus).") }

        let state = try scalar("ALERT_STATE")?.uppercased()
        if let state, state.unicodeScalars.count > 30 {
            throw AppError.invalidField("ALERT_STATE", "État inconnu : ALERT, ALERT REMINDER ou RECOVER attendu.")
        }
        let kind: Kind
        switch state {
        case let state? where state.hasPrefix("RECOVER") || state == "OK": kind = .recovery
        case let state? where state.hasPrefix("ALERT") || state.hasPrefix("REMINDER") || state == "SYSLOG": kind = .firing
        case nil:
            guard let status = try scalar("ALERT_STATUS") else {
                throw AppError.invalidField("ALERT_STATE", "État requis : ALERT ou RECOVER (ou ALERT_STATUS 0 ou 1).")
            }
            guard let known = statusKinds[status], let statusKind = known else {
                throw AppError.invalidField("ALERT_STATUS", "Seuls 0 (alerte) et 1 (rétablissement) ouvrent ou ferment un incident.")
            }
            kind = statusKind
        default:
            throw AppError.invalidField("ALERT_STATE", "État inconnu « \(state ?? "") » : ALERT, ALERT REMINDER ou RECOVER attendu.")
        }

        let at: Date
        if let unix = try scalar("ALERT_UNIXTIME") {
            guard let seconds = Int64(unix), seconds > 0, seconds < 253_402_300_800 else {
                throw AppError.invalidField("ALERT_UNIXTIME", "Horodatage Unix en secondes attendu (par exemple 1764858735).")
            }
            at = Date(timeIntervalSince1970: TimeInterval(seconds))
        } else if let text = try scalar("ALERT_TIMESTAMP_RFC3339") {
            guard text.contains("T"), let parsed = StrictDate.parse(text, dayIn: TimeZone(identifier: "UTC")!) else {
                throw AppError.invalidField("ALERT_TIMESTAMP_RFC3339", "Date RFC 3339 attendue (2026-12-04T14:32:15+01:00).")
            }
            at = parsed
        } else {
            throw AppError.invalidField("ALERT_UNIXTIME", "Heure de l'alerte requise : ALERT_UNIXTIME ou ALERT_TIMESTAMP_RFC3339.")
        }

        guard let device = try limited("DEVICE_HOSTNAME", 200) ?? limited("ENTITY_NAME", 200) else {
            throw AppError.invalidField("DEVICE_HOSTNAME", "Nom de l'équipement requis (DEVICE_HOSTNAME ou ENTITY_NAME).")
        }
        return ObserviumAlert(
            alertID: alertID, kind: kind, state: state ?? (kind == .firing ? "ALERT" : "RECOVER"), at: at, device: device,
            // Observium has no notion of a client: a `CLIENT` key added to the template wins, else the device's location.
            client: try limited("CLIENT", 200) ?? limited("DEVICE_LOCATION", 200),
            message: try limited("ALERT_MESSAGE", 2000) ?? limited("TITLE", 2000),
            severity: try limited("ALERT_SEVERITY", 20)
        )
    }
}
