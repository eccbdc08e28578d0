import Foundation
import HTTPTypes
import Testing
@testable import WidipApp

@Suite("Browser-facing security", .timeLimit(.minutes(2)))
struct SecurityTests {
    /// Logs in through the form like a browser and returns the session cookie and the page's CSRF token.
    func browserSession(_ server: LiveServer, username: String) async throws -> (cookie: String, csrf: String) {
        let login = try await server.browserRequest(
            .post, "/connexion", body: "username=\(username)&password=motdepasse-solide&suivant=%2Fcompte",
            headers: HTTPFields([("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "http://127.0.0.1:\(server.port)")])
        )
        #expect(login.status == .seeOther)
        #expect(login.headers[.location] == "/compte")
        let setCookie = try #require(login.sessionCookie)
        let cookie = String(setCookie.prefix(while: { $0 != ";" }))
        let page = try await server.browserRequest(.get, "/compte", headers: HTTPFields([("Cookie", cookie)]))
        #expect(page.status == .ok)
        let marker = "name=\"csrf-token\" content=\""
        let start = try #require(page.text.range(of: marker)).upperBound
        return (cookie, String(page.text[start...].prefix(while: { $0 != "\"" })))
    }

    @Test func cookieStateChangesNeedTheCSRFTokenAndASameSiteOrigin() async throws {
        try await LiveServer.run { server in
            try await server.createUser("admin-web", level: .n4)
            let session = try await browserSession(server, username: "admin-web")
            let origin = "http://127.0.0.1:\(server.port)"
            let json = #"{"username":"cree-par-cookie","password":"motdepasse-123"}"#
            let withoutToken = try await server.browserRequest(
                .post, "/api/users", body: json, headers: HTTPFields([("Cookie", session.cookie), ("Content-Type", "application/json"), ("Origin", origin)])
            )
            #expect(withoutToken.status == .forbidden)
            #expect(withoutToken.errorCode == "csrf_token")
            let foreign = try await server.browserRequest(
                .post, "/api/users", body: json,
                headers: HTTPFields([("Cookie", session.cookie), ("Content-Type", "application/json"), ("Origin", "https://evil.example"), ("X-CSRF-Token", session.csrf)])
            )
            #expect(foreign.status == .forbidden)
            #expect(foreign.errorCode == "csrf_origin")
            let good = try await server.browserRequest(
                .post, "/api/users", body: json,
                headers: HTTPFields([("Cookie", session.cookie), ("Content-Type", "application/json"), ("Origin", origin), ("X-CSRF-Token", session.csrf)])
            )
            #expect(good.status == .created)

            // A form post carries the token as a hidden field.
            let form = try await server.browserRequest(
                .post, "/utilisateurs/nouveau", body: "_csrf=\(session.csrf)&username=par-formulaire&password=motdepasse-123&password_confirm=motdepasse-123&role=tech&accreditation_level=N1&token_quota=30000&active=1",
                headers: HTTPFields([("Cookie", session.cookie), ("Content-Type", "application/x-www-form-urlencoded"), ("Origin", origin)])
            )
            #expect(form.status == .seeOther)
            let forgedForm = try await server.browserRequest(
                .post, "/utilisateurs/nouveau", body: "username=force&password=motdepasse-123&role=tech&accreditation_level=N1&token_quota=30000",
                headers: HTTPFields([("Cookie", session.cookie), ("Content-Type", "application/x-www-form-urlencoded")])
            )
            #expect(forgedForm.status == .forbidden)
            #expect(forgedForm.text.contains("Jeton de sécurité"))
        }
    }

    @Test func corsAnswersOnlyConfiguredOriginsAndNeverAStar() async throws {
        try await LiveServer.run(adjust: { $0.corsOrigins = ["http://localhost:8080"] }) { server in
            let allowed = try await server.request(.get, "/health", headers: HTTPFields([("Origin", "http://localhost:8080")]))
            #expect(allowed.headers[.accessControlAllowOrigin] == "http://localhost:8080")
            #expect(allowed.headers[.accessControlAllowCredentials] == "true")
            let preflight = try await server.request(
                .options, "/api/users", headers: HTTPFields([("Origin", "http://localhost:8080"), ("Access-Control-Request-Method", "POST")])
            )
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("POST") == true)
            let other = try await server.request(.get, "/health", headers: HTTPFields([("Origin", "https://evil.example")]))
            #expect(other.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test func staticAssetsAreServedToAnyone() async throws {
        try await LiveServer.run { server in
            for (path, type) in [("/static/css/app.css", "text/css"), ("/static/js/app.js", "javascript"), ("/static/img/icons.svg", "image/svg+xml")] {
                let response = try await server.request(.get, path)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType]?.contains(type) == true, "\(path): \(response.headers[.contentType] ?? "")")
            }
            #expect(try await server.request(.get, "/static/css/absent.css").status == .notFound)
        }
    }

    @Test func everyResponseCarriesTheSecurityHeaders() async throws {
        try await LiveServer.run { server in
            for path in ["/health", "/connexion", "/api/nowhere", "/static/css/app.css", "/api/users"] {
                let response = try await server.request(.get, path)
                let csp = response.headers[.contentSecurityPolicy] ?? ""
                #expect(csp.contains("script-src 'self'"), "\(path)")
                #expect(csp.contains("frame-ancestors 'none'"), "\(path)")
                #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(path)")
                #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "same-origin", "\(path)")
            }
        }
    }

    @Test func forwardedHTTPSIsBelievedOnlyFromATrustedProxy() async throws {
        let forwarded = HTTPFields([("X-Forwarded-Proto", "https")])
        try await LiveServer.run { server in
            try await server.createUser("tls", level: .n1)
            let health = try await server.request(.get, "/health", headers: forwarded)
            #expect(health.headers[.strictTransportSecurity] == nil, "any client could claim TLS")
            let login = try await server.request(.post, "/api/auth/login", json: ["username": "tls", "password": "motdepasse-solide"], headers: forwarded)
            #expect(login.sessionCookie?.contains("Secure") == false)
        }
        try await LiveServer.run(adjust: { $0.trustedProxies = TrustedProxies(addresses: ["127.0.0.1"]) }) { server in
            try await server.createUser("tls", level: .n1)
            let health = try await server.request(.get, "/health", headers: forwarded)
            #expect(health.headers[.strictTransportSecurity] != nil)
            let login = try await server.request(.post, "/api/auth/login", json: ["username": "tls", "password": "motdepasse-solide"], headers: forwarded)
            #expect(login.sessionCookie?.contains("Secure") == true)
        }
    }

    /// What a client may write itself (left), then what the proxy appended (right).
    static let forwardedFor = HTTPFields([("X-Forwarded-For", "198.51.100.9, 203.0.113.7")])

    /// The address a login through the proxy was audited under.
    static func loginAddress(_ server: LiveServer, _ name: String) async throws -> String? {
        try await server.createUser(name, level: .n1)
        _ = try await server.request(.post, "/api/auth/login", json: ["username": name, "password": "motdepasse-solide"], headers: forwardedFor)
        return try await server.services.audit.list(AuditFilter(action: "login")).first { $0.username == name }?.ipAddress
    }

    @Test func theForwardedClientAddressIsBelievedOnlyFromATrustedProxy() async throws {
        let forwarded = Self.forwardedFor
        try await LiveServer.run { server in
            let address = try await Self.loginAddress(server, "direct")
            #expect(address == "127.0.0.1", "any client could choose its address")
        }
        try await LiveServer.run(adjust: { $0.trustedProxies = TrustedProxies(addresses: ["127.0.0.1"]) }) { server in
            let address = try await Self.loginAddress(server, "behind-nginx")
            #expect(address == "203.0.113.7")
            // Failed logins are limited per forwarded client: another client behind the same proxy still signs in.
            for _ in 0..<5 {
                _ = try await server.request(.post, "/api/auth/login", json: ["username": "behind-nginx", "password": "mauvais-mot-de-passe"], headers: forwarded)
            }
            let other = HTTPFields([("X-Forwarded-For", "203.0.113.8")])
            let login = try await server.request(.post, "/api/auth/login", json: ["username": "behind-nginx", "password": "motdepasse-solide"], headers: other)
            #expect(login.status == .ok, "\(login.text)")
            let blocked = try await server.request(.post, "/api/auth/login", json: ["username": "behind-nginx", "password": "motdepasse-solide"], headers: forwarded)
            #expect(blocked.status == .tooManyRequests)
        }
    }

    @Test func pagesEscapeUserText() async throws {
        try await LiveServer.run { server in
            let page = try await server.request(
                .post, "/connexion", body: "username=%3Cscript%3Ealert(1)%3C%2Fscript%3E&password=x",
                headers: HTTPFields([("Content-Type", "application/x-www-form-urlencoded")])
            )
            #expect(page.status == .unauthorized)
            #expect(!page.text.contains("<script>alert(1)"))
            #expect(page.text.contains("&lt;script&gt;"))
            #expect(page.text.contains("Identifiant ou mot de passe incorrect."))
        }
    }

    @Test func loginRedirectGoesOnlyToLocalPaths() {
        #expect(LoginPages.safeNext("/utilisateurs") == "/utilisateurs")
        #expect(LoginPages.safeNext("//evil.example") == "/")
        #expect(LoginPages.safeNext("https://evil.example") == "/")
        #expect(LoginPages.safeNext("/\\evil.example") == "/")
        #expect(LoginPages.safeNext("/\t/evil.example") == "/", "browsers drop the tab and read //evil.example")
        #expect(LoginPages.safeNext("/\n/evil.example") == "/")
        #expect(LoginPages.safeNext("/audit?action=login") == "/audit?action=login")
        #expect(LoginPages.safeNext(nil) == "/")
    }

    @Test func afterAnExpiredSessionLoginGoesBackOnlyToAPageThatAnswersGET() async throws {
        try await LiveServer.run { server in
            try await server.createUser("retour", level: .n4)
            let origin = "http://127.0.0.1:\(server.port)"
            let form = HTTPFields([("Content-Type", "application/x-www-form-urlencoded"), ("Origin", origin)])
            // « Déconnexion » sent with an expired session: the login page, with nowhere to come back to.
            var expired = form
            expired[.cookie] = "widip_session=expiree"
            let logout = try await server.browserRequest(.post, "/deconnexion", body: "", headers: expired)
            #expect(logout.status == .found)
            #expect(logout.headers[.location] == "/connexion")
            // A page read with GET is remembered.
            let audit = try await server.browserRequest(.get, "/audit?action=login")
            #expect(audit.headers[.location] == "/connexion?suivant=%2Faudit%3Faction%3Dlogin")
            for (next, landing) in [("%2Fdeconnexion", "/"), ("%2Fcompte%2Fmot-de-passe", "/"), ("%2Faudit%3Faction%3Dlogin", "/audit?action=login"), ("%2Fnulle-part", "/")] {
                let login = try await server.browserRequest(.post, "/connexion", body: "username=retour&password=motdepasse-solide&suivant=\(next)", headers: form)
                #expect(login.status == .seeOther)
                #expect(login.headers[.location] == landing, "\(next)")
            }
        }
    }

    @Test func errorPagesKeepTheHeaderOfASignedInUser() async throws {
        try await LiveServer.run { server in
            try await server.createUser("tech-web", level: .n1)
            let session = try await browserSession(server, username: "tech-web")
            let denied = try await server.request(.get, "/utilisateurs", headers: HTTPFields([("Cookie", session.cookie)]))
            #expect(denied.status == .forbidden)
            #expect(denied.text.contains("Accès refusé"))
            #expect(denied.text.contains("tech-web"))
            #expect(denied.text.contains("Déconnexion"))
            let missing = try await server.request(.get, "/nulle-part", headers: HTTPFields([("Cookie", session.cookie)]))
            #expect(missing.status == .notFound)
            #expect(missing.text.contains("Page introuvable"))
        }
    }

    @Test func healthIsPublicAndTheDetailedViewIsNot() async throws {
        try await LiveServer.run(adjust: { $0.mcpServerURL = "http://svc:s3cret@mcp.internal:3001/mcp" }) { server in
            let health = try await server.request(.get, "/health")
            #expect(health.status == .ok)
            #expect(health.json["database"] as? String == "ok")
            #expect(!health.text.contains("PostgreSQL 16"))
            #expect(try await server.request(.get, "/api/workflows/health").status == .unauthorized)
            let user = try await server.signedIn(.n0)
            let detailed = try await server.request(.get, "/api/workflows/health", token: user.token)
            #expect(detailed.status == .ok)
            let names = (detailed.json["components"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(names == ["database", "mcp", "llm"])
            #expect(detailed.text.contains("http://mcp.internal:3001"))
            #expect(!detailed.text.contains("s3cret"), "no credentials shown")
            let spec = try await server.request(.get, "/api/openapi.yaml")
            #expect(spec.status == .ok)
            #expect(spec.text.hasPrefix("openapi:"))
        }
    }
}
