import Hummingbird
import Prometheus

/// `/metrics` in Prometheus' text format, for a scraper holding `METRICS_TOKEN`. Without the setting it is not served.
struct MetricsModule: AppModule {
    let registry: PrometheusCollectorRegistry
    let token: String?

    /// Anonymous for the access table: the scraper is not a user; its own bearer token is checked here.
    var accessRules: [RouteRule] { [RouteRule(.get, "/metrics", .anonymous)] }

    func addRoutes(to routes: ModuleRoutes) {
        // Plain-text answers: the client is a scraper, not a person, and must not be sent to the login page.
        routes.anyone.get("/metrics") { request, _ in
            guard let token else { return Self.plain(.notFound, "Métriques non publiées : METRICS_TOKEN n'est pas défini.\n") }
            guard constantTimeEquals(request.bearerToken ?? "", token) else {
                var response = Self.plain(.unauthorized, "Jeton de métriques absent ou invalide.\n")
                response.headers[.wwwAuthenticate] = "Bearer"
                return response
            }
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }
    }

    private static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
