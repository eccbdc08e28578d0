import Foundation

/// The time window a dashboard covers: `[from, to)`, stored and compared in UTC. A row at exactly `from` is in, one
/// at exactly `to` is in the next window. Calendar days are the display time zone's (Europe/Paris): a custom period
/// of one day across the October change lasts 25 hours.
struct DashboardPeriod: Sendable, Equatable {
    enum Preset: String, Sendable, CaseIterable {
        case day = "24h"
        case week = "7d"
        case month = "30d"
        case custom
    }

    let preset: Preset
    let from: Date
    let to: Date

    var length: TimeInterval { to.timeIntervalSince(from) }
    /// The window of the same length just before, for each figure's change.
    var previous: DashboardPeriod { DashboardPeriod(preset: preset, from: from.addingTimeInterval(-length), to: from) }

    static let longest: TimeInterval = 366 * 86_400

    /// `period=24h|7d|30d`, or `from` and `to` (a day, `2026-10-25`, taken whole in the display time zone, or a time
    /// with its zone; `period=custom` or none); `fallback` when neither is given. A preset wins over dates (the page's
    /// form sends both).
    static func parse(_ query: [String: String], now: Date, timeZone: TimeZone, fallback: Preset = .day) throws -> DashboardPeriod {
        // Whole seconds: the links to the rows behind a figure carry the period in ISO 8601 without fractions, and
        // must select exactly what was counted. The end is the next whole second, so what was written just now is in.
        let now = now.nextWholeSecond
        let fromText = query["from"].flatMap { $0.isEmpty ? nil : $0 }
        let toText = query["to"].flatMap { $0.isEmpty ? nil : $0 }
        let named = query["period"].flatMap { $0.isEmpty ? nil : $0 }
        // Read even when a preset wins: a date that cannot be read is refused, never ignored.
        let from = try fromText.map { text in
            guard let date = StrictDate.parse(text, dayIn: timeZone) else {
                throw AppError.invalidField("from", "Date attendue : 2026-10-25 ou 2026-10-25T08:00:00+02:00.")
            }
            return date.wholeSecond
        }
        let to = try toText.map { text in
            guard let date = StrictDate.parse(text, dayIn: timeZone) else {
                throw AppError.invalidField("to", "Date attendue : 2026-10-26 ou 2026-10-26T08:00:00+01:00.")
            }
            return date.wholeSecond
        }
        if named == Preset.custom.rawValue || (named == nil && (fromText != nil || toText != nil)) {
            guard let from else { throw AppError.invalidField("from", "Indiquez aussi le début de la période (from).") }
            guard var to, let toText else { throw AppError.invalidField("to", "Indiquez aussi la fin de la période (to).") }
            // A day as the end means that whole day.
            if !toText.contains("T") { to = Self.nextDay(after: to, timeZone: timeZone) }
            guard from < to else { throw AppError.invalidField("to", "La fin de la période doit suivre son début.") }
            guard to.timeIntervalSince(from) <= longest else { throw AppError.invalidField("from", "Une période couvre au plus 366 jours.") }
            return DashboardPeriod(preset: .custom, from: from, to: to)
        }
        let preset: Preset
        if let raw = named {
            guard let known = Preset(rawValue: raw) else {
                throw AppError.invalidField("period", "Période attendue : 24h, 7d ou 30d (ou from et to).")
            }
            preset = known
        } else {
            preset = fallback
        }
        let hours: Double = switch preset {
        case .day, .custom: 24
        case .week: 7 * 24
        case .month: 30 * 24
        }
        return DashboardPeriod(preset: preset, from: now.addingTimeInterval(-hours * 3600), to: now)
    }

    /// The last 24 hours before `now` (SUPPORT's errors, the assistant's situation).
    static func lastDay(before now: Date) -> DashboardPeriod {
        let now = now.nextWholeSecond
        return DashboardPeriod(preset: .day, from: now.addingTimeInterval(-86_400), to: now)
    }

    static func nextDay(after date: Date, timeZone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: date)) ?? date.addingTimeInterval(86_400)
    }

    /// The query that selects this period again (links of drill-downs, CSV exports, the period selector).
    var query: String {
        switch preset {
        case .custom: "from=\(FrenchFormat.iso(from))&to=\(FrenchFormat.iso(to))"
        default: "period=\(preset.rawValue)"
        }
    }

    func label(_ format: FrenchFormat) -> String {
        switch preset {
        case .day: "24 dernières heures"
        case .week: "7 derniers jours"
        case .month: "30 derniers jours"
        case .custom: "du \(format.dateTime(from)) au \(format.dateTime(to))"
        }
    }
}

extension Date {
    /// This time without its fraction of a second.
    var wholeSecond: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
    /// The first whole second from this time.
    var nextWholeSecond: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.up)) }
}
