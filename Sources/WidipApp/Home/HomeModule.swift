import Hummingbird

/// The home page: one tile per module of the PRD, open, greyed for the user's level, or not built yet.
struct HomeModule: AppModule {
    var accessRules: [RouteRule] { [RouteRule(.get, "/", .level(.n0)), RouteRule(.get, "/favicon.ico", .anonymous)] }

    func addRoutes(to routes: ModuleRoutes) {
        let pages = routes.pages
        // Pages name their icon; programs that ask for the conventional path are sent to it.
        routes.anyone.get("/favicon.ico") { _, _ in Response.redirect(to: "/static/img/favicon.svg", type: .permanent) }
        routes.signedIn.get("/") { _, context in
            try pages.response(
                HomePage(chrome: await pages.chrome("Accueil", context, current: "/"), tiles: pages.navigation.tiles(for: context.user.level))
            )
        }
    }
}

struct HomePage: PageModel {
    static let template = "home/home"
    let chrome: Chrome
    let tiles: [TileView]
}
