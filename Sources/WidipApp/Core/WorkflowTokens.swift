import Foundation
import Hummingbird
import NIOCore

/// The Phase 1 workflows (SUPPORT, SENTINEL, ENRICHISSEUR…) that call the platform, each with a token of its own
/// (`WORKFLOW_TOKENS`), so that every request they make says which workflow made it. A workflow token is not a user:
/// it reaches only the routes declared `.workflow` or `.levelOrWorkflow` (SAFEGUARD's creation and reading,
/// SUPERVISION's ingestion), never a decision.
public struct WorkflowTokens: Sendable {
    private let tokens: [(name: String, token: String)]

    public init(_ tokens: [String: String] = [:]) {
        self.tokens = tokens.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    public var names: [String] { tokens.map(\.name) }
    public var isEmpty: Bool { tokens.isEmpty }

    /// The workflow a bearer token belongs to. Every token is compared, in constant time, so neither the answer's
    /// timing nor its order gives one away.
    func workflow(presenting candidate: String) -> String? {
        var found: String?
        for (name, token) in tokens where constantTimeEquals(candidate, token) { found = name }
        return found
    }

    /// The token of a workflow, to sign what is sent back to it (SAFEGUARD's callbacks).
    func token(of workflow: String) -> String? {
        tokens.first { $0.name == workflow }?.token
    }

    /// SAFEGUARD runs approved actions under this name: no configured workflow may take it.
    public static let executorName = "SAFEGUARD"

    /// Parses `WORKFLOW_TOKENS` (`SUPPORT=jeton,SENTINEL=autre`).
    static func parse(_ text: String) throws(ConfigError) -> [String: String] {
        var tokens: [String: String] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            func refuse(_ problem: String) -> ConfigError { ConfigError(variable: "WORKFLOW_TOKENS", problem: problem) }
            guard parts.count == 2, !parts[0].isEmpty else { throw refuse("attendu WORKFLOW=jeton, séparés par des virgules") }
            let name = parts[0].uppercased()
            guard name.count <= 50, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
                throw refuse("« \(parts[0]) » : un nom de workflow s'écrit en lettres, chiffres, « _ » ou « - » (50 au plus)")
            }
            guard name != executorName else { throw refuse("« \(executorName) » est réservé aux exécutions de SAFEGUARD") }
            guard parts[1].utf8.count >= 24 else { throw refuse("le jeton de \(name) est trop court : il faut au moins 24 caractères aléatoires") }
            guard tokens[name] == nil else { throw refuse("\(name) apparaît deux fois") }
            guard !tokens.values.contains(parts[1]) else { throw refuse("deux workflows ont le même jeton : chacun doit avoir le sien") }
            tokens[name] = parts[1]
        }
        return tokens
    }
}

/// The context of routes only a workflow token reaches (`RouteAccess.workflow`).
public struct WorkflowContext: ChildRequestContext {
    public typealias ParentContext = AppRequestContext
    public var coreContext: CoreRequestContextStorage
    public let workflow: String
    /// The client (behind a trusted proxy, the one it forwarded for).
    public let clientAddress: SocketAddress?

    public init(context: AppRequestContext) throws {
        guard let workflow = context.workflow else {
            throw context.identity == nil ? AppError.notAuthenticated : AppError.workflowOnly
        }
        self.coreContext = context.coreContext
        self.workflow = workflow
        self.clientAddress = context.clientAddress
    }

    public var maxUploadSize: Int { 256 * 1024 }
    func client(of request: Request) -> ClientInfo { request.clientInfo(address: clientAddress) }
}

/// Who calls a route that both users and workflows reach (`RouteAccess.levelOrWorkflow`).
public enum RouteCaller: Sendable {
    case user(Identity)
    case workflow(String)
}

/// The context of routes that both signed-in users and workflow tokens reach.
public struct CallerContext: ChildRequestContext {
    public typealias ParentContext = AppRequestContext
    public var coreContext: CoreRequestContextStorage
    public let caller: RouteCaller
    /// The client (behind a trusted proxy, the one it forwarded for).
    public let clientAddress: SocketAddress?

    public init(context: AppRequestContext) throws {
        if let workflow = context.workflow {
            caller = .workflow(workflow)
        } else if let identity = context.identity {
            caller = .user(identity)
        } else {
            throw AppError.notAuthenticated
        }
        self.coreContext = context.coreContext
        self.clientAddress = context.clientAddress
    }

    public var maxUploadSize: Int { 256 * 1024 }
    func client(of request: Request) -> ClientInfo { request.clientInfo(address: clientAddress) }
}

extension AppError {
    static let workflowOnly = AppError(.forbidden, code: "workflow_only", "Cette route est réservée aux workflows (jeton de workflow).")
    static let usersOnly = AppError(.forbidden, code: "users_only", "Un jeton de workflow ne permet pas cette action : elle revient à un utilisateur.")
}
