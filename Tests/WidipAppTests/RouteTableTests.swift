import Hummingbird
import Testing
@testable import WidipApp

/// The access table is gathered from the modules' declarations; the router is what really serves. They must be the
/// same set, or a route is refused at run time (unlisted) or a rule guards nothing (no route).
@Suite("Route table", .timeLimit(.minutes(2)))
struct RouteTableTests {
    /// A module that forgets to declare one of its routes, and declares one it never registers.
    struct CarelessModule: AppModule {
        var accessRules: [RouteRule] { [RouteRule(.get, "/declared-only", .level(.n0))] }
        func addRoutes(to routes: ModuleRoutes) {
            routes.signedIn.get("/registered-only") { _, _ in "" }
        }
    }

    /// A page of level N2 with a header link.
    struct N2PageModule: AppModule {
        var accessRules: [RouteRule] { [RouteRule(.get, "/page-n2", .level(.n2))] }
        var navigation: [NavigationEntry] { [NavigationEntry(label: "Page N2", path: "/page-n2")] }
        func addRoutes(to routes: ModuleRoutes) {
            routes.signedIn.get("/page-n2") { _, _ in "" }
        }
    }

    func withServices<Value: Sendable>(_ body: @Sendable (AppServices) async throws -> Value) async throws -> Value {
        try await TestDatabase.withFreshDatabase { database in try await TestDatabase.withServices(on: database, body) }
    }

    @Test func theRouterServesExactlyTheRoutesOfTheAccessTable() async throws {
        try await withServices { services in
            let built = try await buildRouter(services: services, modules: services.modules)
            let differences = built.table.differences(fromRegistered: built.registeredRoutes)
            #expect(differences.unlisted.isEmpty, "routes with no access rule (refused at run time): \(differences.unlisted)")
            #expect(differences.withoutRoute.isEmpty, "access rules with no route: \(differences.withoutRoute)")
            #expect(built.registeredRoutes.contains("GET /api/users/{id}"))
            #expect(built.registeredRoutes.contains("GET /api/ws"))
        }
    }

    @Test func anUnlistedRouteAndARuleWithoutARouteAreBothReported() async throws {
        try await withServices { services in
            let built = try await buildRouter(services: services, modules: services.modules + [CarelessModule()])
            let differences = built.table.differences(fromRegistered: built.registeredRoutes)
            #expect(differences.unlisted == ["GET /registered-only"])
            #expect(differences.withoutRoute == ["GET /declared-only"])
        }
    }

    @Test func everyTableRouteIsUnique() async throws {
        try await withServices { services in
            let keys = services.routeTable.rules.map { "\($0.method.rawValue) \($0.path)" }
            #expect(Set(keys).count == keys.count)
        }
    }

    @Test func theHeaderShowsAModuleFromTheLevelOfItsPage() async throws {
        try await withServices { services in
            let modules = services.modules + [N2PageModule()]
            let navigation = Navigation(modules: modules, table: RouteAccessTable(modules: modules))
            func labels(_ level: AccreditationLevel) -> [String] { navigation.links(for: level, current: "/").map(\.label) }
            #expect(labels(.n0) == ["Accueil", "WIBOT"])
            #expect(labels(.n1) == ["Accueil", "WIBOT", "SAFEGUARD"])
            #expect(labels(.n2) == ["Accueil", "WIBOT", "SAFEGUARD", "Page N2"])
            #expect(labels(.n3) == ["Accueil", "WIBOT", "SAFEGUARD", "SUPERVISION", "Outils MCP", "Page N2"])
            #expect(labels(.n4) == ["Accueil", "WIBOT", "SAFEGUARD", "SUPERVISION", "Utilisateurs", "Outils MCP", "Audit", "Page N2"])
            let tiles = navigation.tiles(for: .n1).map { "\($0.name): \($0.unavailableReason ?? "ouvert")" }
            #expect(
                tiles == [
                    "WIBOT: ouvert", "SAFEGUARD: ouvert", "SUPERVISION: Réservé au niveau N3 et plus",
                    "UTILISATEURS: Réservé au niveau N4 et plus",
                ]
            )
        }
    }
}
