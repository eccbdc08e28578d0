import HTTPTypes
import Hummingbird
import Synchronization

/// Who may call a route.
public enum RouteAccess: Sendable, Equatable {
    /// Anyone, signed in or not (login, health, static assets).
    case anonymous
    /// A signed-in user of at least this level.
    case level(AccreditationLevel)
    /// A Phase 1 workflow presenting its token (`WORKFLOW_TOKENS`); users are refused.
    case workflow
    /// A signed-in user of at least this level, or a workflow presenting its token.
    case levelOrWorkflow(AccreditationLevel)

    /// The lowest user level admitted; nil when no user is (anonymous routes admit everyone, workflow routes no one).
    public var userLevel: AccreditationLevel? {
        switch self {
        case .anonymous: .n0
        case .level(let level), .levelOrWorkflow(let level): level
        case .workflow: nil
        }
    }
}

public struct RouteRule: Sendable, Equatable {
    public let method: HTTPRequest.Method
    public let path: String
    public let access: RouteAccess

    public init(_ method: HTTPRequest.Method, _ path: String, _ access: RouteAccess) {
        self.method = method
        self.path = path
        self.access = access
    }

    /// "GET /api/users/{id}", as the router names its endpoints.
    public var route: String { "\(method.rawValue) \(path)" }
}

/// Every route of the application and its minimum accreditation (PRD 3.4.1), gathered from the modules' own
/// declarations. The access middleware enforces it for each request from the matched route pattern, so a route
/// missing here is refused, never left open.
public struct RouteAccessTable: Sendable {
    public let rules: [RouteRule]
    private let index: [String: RouteAccess]

    /// The rules every module declares.
    init(modules: [any AppModule]) {
        self.init(modules.flatMap(\.accessRules))
    }

    public init(_ rules: [RouteRule]) {
        self.rules = rules
        // A route declared twice keeps its strictest rule, never the laxest.
        self.index = Dictionary(rules.map { ($0.route, $0.access) }) { first, second in
            switch (first, second) {
            case (.anonymous, _): second
            case (_, .anonymous): first
            case (.level(let a), .level(let b)), (.level(let a), .levelOrWorkflow(let b)), (.levelOrWorkflow(let a), .level(let b)): .level(max(a, b))
            case (.levelOrWorkflow(let a), .levelOrWorkflow(let b)): .levelOrWorkflow(max(a, b))
            case (.workflow, .levelOrWorkflow), (.levelOrWorkflow, .workflow), (.workflow, .workflow): .workflow
            // Users only on one side, workflows only on the other: nobody.
            case (.workflow, .level), (.level, .workflow): .level(.n4)
            }
        }
    }

    public func access(method: HTTPRequest.Method, path: String) -> RouteAccess? {
        // HEAD is answered by the GET handler and needs what GET needs.
        let lookup = method == .head ? HTTPRequest.Method.get : method
        return index["\(lookup.rawValue) \(path)"]
    }

    /// The methods served at a concrete path, for `405 Method Not Allowed` answers.
    public func allowedMethods(forPath path: String) -> [HTTPRequest.Method] {
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

    /// What differs between the routes a router registered ("GET /path") and this table, both ways.
    public func differences(fromRegistered registered: Set<String>) -> (unlisted: [String], withoutRoute: [String]) {
        let listed = Set(rules.map(\.route))
        return (registered.subtracting(listed).sorted(), listed.subtracting(registered).sorted())
    }
}

/// The application's router, noting every route registered on it (through any group), so that a test can compare
/// what the router really serves with the access table.
final class RecordingRouter<Context: RequestContext>: RouterMethods {
    let router: Router<Context>
    private let recorded = Mutex<Set<String>>([])

    init(_ router: Router<Context>) {
        self.router = router
    }

    /// "METHOD /path" of every registered route.
    var routes: Set<String> { recorded.withLock { $0 } }

    @discardableResult func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method, responder: Responder) -> Self
    where Responder.Context == Context {
        recorded.withLock { _ = $0.insert("\(method.rawValue) \(path)") }
        router.on(path, method: method, responder: responder)
        return self
    }

    @discardableResult func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        router.add(middleware: middleware)
        return self
    }
}
