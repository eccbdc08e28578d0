import Foundation

/// Dates typed in filters: `AAAA-MM-JJ` (that day, midnight where the user is) or ISO-8601 with a time and a zone.
/// Foundation's parsers accept trailing garbage, 31 February and 25 o'clock by rolling over; a filter must refuse
/// them, so every field is checked against its range and the calendar.
enum StrictDate {
    static func parse(_ text: String, dayIn timeZone: TimeZone) -> Date? {
        // A literal per call: `Regex` is not Sendable, so it cannot be a shared constant.
        let pattern = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}))?$/
        guard let match = text.wholeMatch(of: pattern) else { return nil }
        var components = DateComponents(year: Int(match.1), month: Int(match.2), day: Int(match.3))
        var zone = timeZone
        if let hour = match.4, let minute = match.5, let offset = match.8 {
            components.hour = Int(hour)
            components.minute = Int(minute)
            components.second = match.6.flatMap { Int($0) } ?? 0
            if offset != "Z" {
                let sign = offset.hasPrefix("-") ? -1 : 1
                let parts = offset.dropFirst().split(separator: ":").compactMap { Int($0) }
                guard parts.count == 2, parts[0] <= 14, parts[1] < 60, let fixed = TimeZone(secondsFromGMT: sign * (parts[0] * 3600 + parts[1] * 60)) else {
                    return nil
                }
                zone = fixed
            } else {
                zone = TimeZone(identifier: "UTC")!
            }
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        guard let date = calendar.date(from: components) else { return nil }
        // Rolled over (31 February, 25:00): the calendar's reading of the date differs from what was typed.
        let back = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        guard back.year == components.year, back.month == components.month, back.day == components.day,
            components.hour == nil || (back.hour == components.hour && back.minute == components.minute && back.second == components.second)
        else { return nil }
        let fraction = match.7.flatMap { Double("0." + $0) } ?? 0
        return date.addingTimeInterval(fraction)
    }
}
