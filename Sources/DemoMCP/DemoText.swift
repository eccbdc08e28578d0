import Foundation

/// Folds the ways people write names ("Clinique St-Jean", "clinique saint jean", "CLINIQUE SAINT-JEAN") to one
/// comparable list of words: no accents, no case, no punctuation, and the usual abbreviations spelled out.
enum DemoText {
    private static let abbreviations: [String: String] = [
        "st": "saint", "ste": "sainte", "clin": "clinique", "dr": "docteur", "docteur": "docteur",
        "cab": "cabinet", "kine": "kinesitherapie", "radio": "radiologie", "ctre": "centre", "labo": "laboratoire",
        "res": "residence",
    ]
    private static let ignored: Set<String> = ["de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux", "et"]

    static func words(_ text: String) -> [String] {
        let folded = text.folding(options: [.diacriticInsensitive, .caseInsensitive, .widthInsensitive], locale: Locale(identifier: "fr_FR"))
        let separated = folded.map { $0.isLetter || $0.isNumber ? $0 : " " }
        return String(separated).split(separator: " ").map { abbreviations[String($0)] ?? String($0) }.filter { !ignored.contains($0) }
    }

    /// How well `query` names `candidate`: the share of the query's words found in the candidate (a query word also
    /// matches a candidate word it begins, so "ehpad jard" finds "EHPAD Les Jardins"). 0 when nothing matches.
    static func score(query: [String], candidate: [String]) -> Double {
        guard !query.isEmpty else { return 0 }
        let matched = query.filter { word in candidate.contains { $0 == word || ($0.hasPrefix(word) && word.count >= 3) } }
        return Double(matched.count) / Double(query.count)
    }

    /// Levenshtein distance, for "did you mean" suggestions on hostnames and usernames.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    static func closest(to value: String, in candidates: [String], limit: Int = 3) -> [String] {
        let normalized = value.lowercased()
        return candidates
            .map { (candidate: $0, distance: distance(normalized, $0), contains: $0.lowercased().contains(normalized)) }
            .filter { $0.contains || $0.distance <= max(3, normalized.count / 3) }
            .sorted { ($0.contains ? 0 : 1, $0.distance) < ($1.contains ? 0 : 1, $1.distance) }
            .prefix(limit).map(\.candidate)
    }
}
