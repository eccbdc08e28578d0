/// User accounts and their accreditation levels (PRD 3.4): API and pages, super admins only.
struct UsersModule: AppModule {
    let users: UsersService
    let meter: TokenMeter

    var accessRules: [RouteRule] { UsersController.accessRules + UsersPages.accessRules }

    var navigation: [NavigationEntry] {
        [
            NavigationEntry(
                label: "Utilisateurs", path: "/utilisateurs",
                tile: ModuleTile(name: "UTILISATEURS", icon: "users", description: "Comptes, niveaux d'accréditation, quotas et journal d'audit")
            )
        ]
    }

    func addRoutes(to routes: ModuleRoutes) {
        UsersController(users: users, meter: meter).addRoutes(to: routes.signedIn)
        UsersPages(users: users, pages: routes.pages, meter: meter).addRoutes(to: routes.signedIn)
    }
}
