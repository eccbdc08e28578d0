import Foundation

/// The audit log (PRD 3.4.2): who did what, when, from where; its API and its live viewer, super admins only.
struct AuditModule: AppModule {
    let audit: AuditRepository
    let users: UsersService
    let timeZone: TimeZone

    var accessRules: [RouteRule] { AuditController.accessRules + AuditPages.accessRules }
    var navigation: [NavigationEntry] { [NavigationEntry(label: "Audit", path: "/audit")] }

    func addRoutes(to routes: ModuleRoutes) {
        AuditController(audit: audit, timeZone: timeZone).addRoutes(to: routes.signedIn)
        AuditPages(audit: audit, users: users, pages: routes.pages).addRoutes(to: routes.signedIn)
    }
}
