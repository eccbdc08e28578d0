import Foundation

/// Numbers, dates and durations as a French reader expects them (UI.md): narrow no-break spaces between thousands,
/// 24-hour times, relative days.
public struct FrenchFormat: Sendable {
    public let timeZone: TimeZone
    static let narrowSpace = "\u{202F}"

    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
    }

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    public func integer(_ value: Int) -> String {
        let digits = String(abs(value))
        var groups: [String] = []
        var end = digits.endIndex
        while end > digits.startIndex {
            let start = digits.index(end, offsetBy: -3, limitedBy: digits.startIndex) ?? digits.startIndex
            groups.insert(String(digits[start..<end]), at: 0)
            end = start
        }
        return (value < 0 ? "-" : "") + groups.joined(separator: Self.narrowSpace)
    }

    /// "99,5 %": one decimal, dropped when it is zero ("100 %").
    public func percent(_ ratio: Double) -> String {
        let value = (ratio * 1000).rounded() / 10
        return decimal(value) + "\u{202F}%"
    }

    /// "1,25": at most two decimals, with a decimal comma.
    public func decimal(_ value: Double) -> String {
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text.replacingOccurrences(of: ".", with: ",")
    }

    /// "45k" style for tight table cells; exact below 10 000.
    public func compact(_ value: Int) -> String {
        value >= 10_000 ? "\(value / 1000)k" : integer(value)
    }

    public func time(_ date: Date) -> String {
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        return String(format: "%02d:%02d", parts.hour ?? 0, parts.minute ?? 0)
    }

    public func dateTime(_ date: Date) -> String {
        let parts = calendar.dateComponents([.day, .month, .year, .hour, .minute, .second], from: date)
        return String(format: "%02d/%02d/%04d %02d:%02d:%02d", parts.day ?? 0, parts.month ?? 0, parts.year ?? 0, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
    }

    public func day(_ date: Date) -> String {
        let parts = calendar.dateComponents([.day, .month, .year], from: date)
        return String(format: "%02d/%02d/%04d", parts.day ?? 0, parts.month ?? 0, parts.year ?? 0)
    }

    /// The same, inside a sentence: "dernière connexion : il y a 5 min".
    public func relativeInSentence(_ date: Date?, now: Date = Date()) -> String {
        let text = relative(date, now: now)
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    /// "À l'instant", "Il y a 5 min", "Aujourd'hui 14:30", "Hier 18:45", "Il y a 3 jours", then the date.
    public func relative(_ date: Date?, now: Date = Date()) -> String {
        guard let date else { return "Jamais" }
        let seconds = now.timeIntervalSince(date)
        if seconds < 0 { return dateTime(date) }
        if seconds < 60 { return "À l'instant" }
        if seconds < 3600 { return "Il y a \(Int(seconds / 60)) min" }
        let calendar = self.calendar
        if calendar.isDate(date, inSameDayAs: now) { return "Aujourd'hui \(time(date))" }
        let days = calendar.dateComponents([.day], from: calendar.startOfDay(for: date), to: calendar.startOfDay(for: now)).day ?? 0
        if days == 1 { return "Hier \(time(date))" }
        if days < 7 { return "Il y a \(days) jours" }
        return day(date)
    }

    /// "45 s", "8 min 32 s", "2 h 05".
    public func duration(_ seconds: Int) -> String {
        if seconds < 60 { return "\(seconds) s" }
        if seconds < 3600 { return "\(seconds / 60) min \(String(format: "%02d", seconds % 60)) s" }
        return "\(seconds / 3600) h \(String(format: "%02d", seconds % 3600 / 60))"
    }

    /// How long something has lasted, to the minute: "moins d'une minute", "20 min", "2 h 15", "3 j 04 h".
    public func elapsed(_ seconds: Int) -> String {
        if seconds < 60 { return "moins d'une minute" }
        if seconds < 3600 { return "\(seconds / 60) min" }
        if seconds < 86_400 { return "\(seconds / 3600) h \(String(format: "%02d", seconds % 3600 / 60))" }
        return "\(seconds / 86_400) j \(String(format: "%02d", seconds % 86_400 / 3600)) h"
    }

    public static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
