extension Duration {
    /// Milliseconds with their fraction, for figures (`duration_ms`, latencies, benchmarks).
    public var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
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
