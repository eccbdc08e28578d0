import Foundation

/// Charts drawn by the server as inline SVG (UI.md): built from the same numbers the page prints beside them, every
/// mark with a `<title>` for hover, and a table of the data for screen readers and for reading without colour.

/// Columns per hour or per day.
struct ColumnChart: Sendable {
    struct Mark: Sendable {
        let x: Double
        let y: Double
        let width: Double
        let height: Double
        /// "25/10 14:00 : 12 tickets".
        let title: String
        let label: String
        let value: String
    }

    struct AxisLabel: Sendable {
        let text: String
    }

    let caption: String
    let marks: [Mark]
    /// The viewBox's width: ten units per column.
    let width: Int
    let axis: [AxisLabel]
    let maximum: String
    let empty: Bool

    /// `points` are (short label, long label, count), oldest first; `unit` names what is counted ("tickets").
    init(caption: String, points: [(label: String, longLabel: String, count: Int)], unit: (Int) -> String, format: FrenchFormat) {
        let top = max(1, points.map(\.count).max() ?? 0)
        self.caption = caption
        width = max(10, points.count * 10)
        marks = points.enumerated().map { index, point in
            // A non-zero count stays visible however tall the busiest column.
            let height = point.count == 0 ? 0 : max(2, Double(point.count) / Double(top) * 96)
            return Mark(
                x: Double(index * 10) + 1, y: 100 - height, width: 8, height: height, title: "\(point.longLabel) : \(unit(point.count))",
                label: point.longLabel, value: format.integer(point.count)
            )
        }
        let count = points.count
        let picked = count <= 1 ? Array(0..<count) : Array(Set([0, count / 2, count - 1])).sorted()
        axis = picked.map { AxisLabel(text: points[$0].label) }
        maximum = format.integer(points.map(\.count).max() ?? 0)
        empty = points.allSatisfy { $0.count == 0 }
    }

    /// Series points from the API (`2026-10-25T14`) labelled for a French reader.
    static func labels(_ bucket: String, hourly: Bool) -> (short: String, long: String) {
        let parts = bucket.split(whereSeparator: { $0 == "-" || $0 == "T" }).map(String.init)
        guard parts.count == 4 else { return (bucket, bucket) }
        let day = "\(parts[2])/\(parts[1])"
        return hourly ? ("\(parts[3]) h", "\(day) \(parts[3]):00") : (day, "\(day)/\(parts[0])")
    }
}

/// Horizontal bars (responsibility breakdown, top actions, sources).
struct BarRow: Sendable {
    let label: String
    let value: String
    let share: String
    /// Percent of the longest bar.
    let width: Double
    let title: String
    let href: String?
    let tone: String
}

extension BarRow {
    static func rows(
        _ items: [(label: String, count: Int, share: Double, href: String?, tone: String)], unit: (Int) -> String, format: FrenchFormat
    ) -> [BarRow] {
        let top = max(1, items.map(\.count).max() ?? 0)
        return items.map { item in
            BarRow(
                label: item.label, value: format.integer(item.count), share: format.percent(item.share),
                width: Double(item.count) / Double(top) * 100, title: "\(item.label) : \(unit(item.count)) (\(format.percent(item.share)))",
                href: item.href, tone: item.tone
            )
        }
    }
}

/// A KPI card's small trend line.
struct Sparkline: Sendable {
    /// `x,y` pairs in a 100 × 30 box.
    let points: String
    let title: String

    init?(_ counts: [Int], title: String) {
        guard counts.count > 1 else { return nil }
        let top = Double(max(1, counts.max() ?? 0))
        let step = 100 / Double(counts.count - 1)
        points = counts.enumerated().map { index, count in
            String(format: "%.1f,%.1f", Double(index) * step, 28 - Double(count) / top * 26)
        }.joined(separator: " ")
        self.title = title
    }
}
