import Foundation
import Hummingbird

/// The API description, served as written in the repository (`Resources/openapi.yaml`).
struct OpenAPIModule: AppModule {
    var accessRules: [RouteRule] { [RouteRule(.get, "/api/openapi.yaml", .anonymous)] }

    func addRoutes(to routes: ModuleRoutes) throws {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml", subdirectory: "Resources") else {
            throw AppError(.internalError, "openapi.yaml est introuvable dans l'installation.")
        }
        let document = try String(contentsOf: url, encoding: .utf8)
        routes.anyone.get("/api/openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml; charset=utf-8", .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(string: document))
            )
        }
    }
}
