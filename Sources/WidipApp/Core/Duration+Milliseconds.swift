import Foundation

extension Duration {
    /// Milliseconds with their fraction, for figures (`duration_ms`, latencies, benchmarks).
    public var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }

    /// Seconds with their fraction, for `Date` arithmetic.
    var seconds: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }

    /// "60 min", or "2 h" for whole hours from two, for messages.
    var frenchMinutes: String {
        let minutes = Int(components.seconds / 60)
        return minutes % 60 == 0 && minutes >= 120 ? "\(minutes / 60) h" : "\(minutes) min"
    }

    /// "5 s", or "500 ms" under a second, for messages.
    var frenchSeconds: String {
        components.seconds >= 1 ? "\(components.seconds) s" : "\(components.attoseconds / 1_000_000_000_000_000) ms"
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        var factor = 1.0
        for _ in 0..<places { factor *= 10 }
        return (self * factor).rounded() / factor
    }
}
