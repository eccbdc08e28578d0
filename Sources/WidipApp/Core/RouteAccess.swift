import HTTPTypes

/// Who may call a route.
public enum RouteAccess: Sendable, Equatable {
    /// Anyone, signed in or not (login, health, static assets).
    case anonymous
    /// A signed-in user of at least this level.
    case level(AccreditationLevel)
}

public struct RouteRule: Sendable, Equatable {
    public let method: HTTPRequest.Method
    public let path: String
    public let access: RouteAccess
}

/// The one table of every route and its minimum accreditation (PRD 3.4.1). The access middleware enforces it for
/// each request from the matched route pattern, so a route missing here is refused, never left open.
public enum RouteAccessTable {
    public static let rules: [RouteRule] = [
        // Health and API description
        RouteRule(method: .get, path: "/health", access: .anonymous),
        RouteRule(method: .get, path: "/api/openapi.yaml", access: .anonymous),
        RouteRule(method: .get, path: "/api/workflows/health", access: .level(.n0)),
        // Auth (PRD 6)
        RouteRule(method: .post, path: "/api/auth/login", access: .anonymous),
        RouteRule(method: .post, path: "/api/auth/logout", access: .level(.n0)),
        RouteRule(method: .get, path: "/api/auth/me", access: .level(.n0)),
        RouteRule(method: .post, path: "/api/auth/password", access: .level(.n0)),
        // Users and audit (PRD 3.4): super admins only
        RouteRule(method: .get, path: "/api/users", access: .level(.n4)),
        RouteRule(method: .post, path: "/api/users", access: .level(.n4)),
        RouteRule(method: .get, path: "/api/users/audit", access: .level(.n4)),
        RouteRule(method: .get, path: "/api/users/{id}", access: .level(.n4)),
        RouteRule(method: .put, path: "/api/users/{id}", access: .level(.n4)),
        RouteRule(method: .delete, path: "/api/users/{id}", access: .level(.n4)),
        // Real-time bus: channels are filtered by level inside (safeguard N1, supervision N3, audit N4)
        RouteRule(method: .get, path: "/api/ws", access: .level(.n0)),
        RouteRule(method: .get, path: "/api/safeguard/ws", access: .level(.n1)),
        RouteRule(method: .get, path: "/api/supervision/ws", access: .level(.n3)),
        RouteRule(method: .get, path: "/api/events", access: .level(.n0)),
        // MCP tools (PRD 3.1.2): a call's own level is checked against the tool's level by MCPToolService
        RouteRule(method: .get, path: "/api/mcp/tools", access: .level(.n1)),
        RouteRule(method: .get, path: "/api/mcp/status", access: .level(.n3)),
        RouteRule(method: .post, path: "/api/mcp/tools/{name}/call", access: .level(.n0)),
        // Prometheus scrape, with its own bearer token (METRICS_TOKEN)
        RouteRule(method: .get, path: "/metrics", access: .anonymous),
        // Web pages
        RouteRule(method: .get, path: "/", access: .level(.n0)),
        RouteRule(method: .get, path: "/connexion", access: .anonymous),
        RouteRule(method: .post, path: "/connexion", access: .anonymous),
        RouteRule(method: .post, path: "/deconnexion", access: .level(.n0)),
        RouteRule(method: .get, path: "/compte", access: .level(.n0)),
        RouteRule(method: .post, path: "/compte/mot-de-passe", access: .level(.n0)),
        RouteRule(method: .get, path: "/utilisateurs", access: .level(.n4)),
        RouteRule(method: .get, path: "/utilisateurs/nouveau", access: .level(.n4)),
        RouteRule(method: .post, path: "/utilisateurs/nouveau", access: .level(.n4)),
        RouteRule(method: .get, path: "/utilisateurs/{id}", access: .level(.n4)),
        RouteRule(method: .post, path: "/utilisateurs/{id}", access: .level(.n4)),
        RouteRule(method: .post, path: "/utilisateurs/{id}/desactiver", access: .level(.n4)),
        RouteRule(method: .get, path: "/audit", access: .level(.n4)),
        RouteRule(method: .get, path: "/outils-mcp", access: .level(.n3)),
    ]

    private static let index: [String: RouteAccess] = Dictionary(
        uniqueKeysWithValues: rules.map { ("\($0.method.rawValue) \($0.path)", $0.access) }
    )

    public static func access(method: HTTPRequest.Method, path: String) -> RouteAccess? {
        // HEAD is answered by the GET handler and needs what GET needs.
        let lookup = method == .head ? HTTPRequest.Method.get : method
        return index["\(lookup.rawValue) \(path)"]
    }

    /// The methods served at a concrete path, for `405 Method Not Allowed` answers.
    public static func allowedMethods(forPath path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        let matching = rules.filter { rule in
            let pattern = rule.path.split(separator: "/", omittingEmptySubsequences: true)
            return pattern.count == segments.count
                && zip(pattern, segments).allSatisfy { expected, actual in expected.hasPrefix("{") || expected == actual }
        }
        // A literal route ("/api/users/audit") shadows a captured one ("/api/users/{id}") in the router.
        let literal = matching.filter { !$0.path.contains("{") }
        return (literal.isEmpty ? matching : literal).map(\.method)
    }
}
