import Foundation

/// SUPERVISION's settings: Observium's webhook token and what the health monitor checks, and how often.
public struct SupervisionSettings: Sendable {
    /// The token Observium's webhook transport sends in `Authorization` (`OBSERVIUM_WEBHOOK_TOKEN`); without it the
    /// webhook is refused.
    public var observiumWebhookToken: String?
    /// Observium's web address, checked by the health monitor (`OBSERVIUM_URL`).
    public var observiumURL: String?
    /// Time between two rounds of health checks (`HEALTH_CHECK_INTERVAL_SECONDS`); nil: this instance never checks
    /// (0, for an instance that must not probe the model servers, and for tests that count what reaches them).
    public var healthCheckInterval: Duration?

    public init(observiumWebhookToken: String? = nil, observiumURL: String? = nil, healthCheckInterval: Duration? = .seconds(30)) {
        self.observiumWebhookToken = observiumWebhookToken
        self.observiumURL = observiumURL
        self.healthCheckInterval = healthCheckInterval
    }
}
