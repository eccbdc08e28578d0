import Hummingbird

/// The home page: one tile per module of the PRD, open, greyed for the user's level, or not built yet.
struct HomeModule: AppModule {
    var accessRules: [RouteRule] { [RouteRule(.get, "/", .level(.n0))] }

    func addRoutes(to routes: ModuleRoutes) {
        let pages = routes.pages
        routes.signedIn.get("/") { _, context in
            try pages.response(
                HomePage(chrome: pages.chrome("Accueil", context, current: "/"), tiles: pages.navigation.tiles(for: context.user.level))
            )
        }
    }
}

struct HomePage: PageModel {
    static let template = "home/home"
    let chrome: Chrome
    let tiles: [TileView]
}
