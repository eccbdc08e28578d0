import Foundation
import HTTPTypes
import Testing
@testable import WidipApp

/// Walks every route of the access table as an anonymous visitor and as a user of each level.
@Suite("Authorization matrix", .timeLimit(.minutes(2)))
struct AuthorizationMatrixTests {
    enum Outcome: Equatable, CustomStringConvertible {
        case allowed, unauthenticated, forbidden
        var description: String { "\(self)" }
    }

    static func expected(_ access: RouteAccess, for level: AccreditationLevel?) -> Outcome {
        switch access {
        case .anonymous: return .allowed
        case .workflow: return level == nil ? .unauthenticated : .forbidden
        case .level(let minimum), .levelOrWorkflow(let minimum):
            guard let level else { return .unauthenticated }
            return level >= minimum ? .allowed : .forbidden
        }
    }

    /// A workflow token reaches its routes and those it shares with users, never a user's route.
    static func expectedForWorkflow(_ access: RouteAccess) -> Outcome {
        switch access {
        case .anonymous, .workflow, .levelOrWorkflow: .allowed
        case .level: .forbidden
        }
    }

    static let workflowToken = "jeton-matrice-0123456789abcdef-0123"

    static func outcome(of response: HTTPResult, path: String) -> Outcome {
        let isPage = !path.hasPrefix("/api/") && path != "/health"
        if isPage, response.status == .found, response.headers[.location]?.hasPrefix("/connexion") == true { return .unauthenticated }
        switch response.status {
        case .unauthorized: return .unauthenticated
        case .forbidden: return .forbidden
        default: return .allowed
        }
    }

    @Test func everyRouteForAnonymousEveryLevelAndAWorkflow() async throws {
        try await LiveServer.run(adjust: { $0.workflowTokens = WorkflowTokens(["SUPPORT": Self.workflowToken]) }) { server in
            var tokens: [AccreditationLevel: String] = [:]
            var ids: [AccreditationLevel: Int] = [:]
            for level in AccreditationLevel.allCases {
                let signedIn = try await server.signedIn(level)
                tokens[level] = signedIn.token
                ids[level] = signedIn.user.id
            }
            // A target for {id} routes that no caller is: a harmless user to read, edit and deactivate.
            let target = try await server.createUser("cible-matrice", level: .n1)
            var mismatches: [String] = []
            for rule in server.services.routeTable.rules {
                let path = rule.path.replacingOccurrences(of: "{id}", with: String(target.id)).replacingOccurrences(of: "{name}", with: "glpi_search_client")
                    .replacingOccurrences(of: "{key}", with: "cle-matrice")
                for level in [nil] + AccreditationLevel.allCases.map(Optional.some) {
                    // Logging out would end the session the next rows need: each caller logs out last, below.
                    if rule.path == "/api/auth/logout" || rule.path == "/deconnexion" { continue }
                    let json: Any? = rule.method == .get ? nil : [String: Any]()
                    let response = try await server.request(rule.method, path, json: json, token: level.flatMap { tokens[$0] })
                    let got = Self.outcome(of: response, path: path)
                    let want = Self.expected(rule.access, for: level)
                    if got != want { mismatches.append("\(rule.method) \(rule.path) as \(level?.rawValue ?? "anonymous"): \(got) (\(response.status.code)), expected \(want)") }
                }
                if rule.path == "/api/auth/logout" || rule.path == "/deconnexion" { continue }
                let json: Any? = rule.method == .get ? nil : [String: Any]()
                let asWorkflow = Self.outcome(of: try await server.request(rule.method, path, json: json, token: Self.workflowToken), path: path)
                if asWorkflow != Self.expectedForWorkflow(rule.access) {
                    mismatches.append("\(rule.method) \(rule.path) as a workflow: \(asWorkflow), expected \(Self.expectedForWorkflow(rule.access))")
                }
            }
            for rule in server.services.routeTable.rules where rule.path == "/api/auth/logout" {
                #expect(Self.outcome(of: try await server.request(rule.method, rule.path), path: rule.path) == .unauthenticated)
                for level in AccreditationLevel.allCases {
                    #expect(try await server.request(rule.method, rule.path, token: tokens[level]).status == .noContent)
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        }
    }

    @Test func aDemotionTakesEffectOnTheNextRequest() async throws {
        try await LiveServer.run { server in
            let admin = try await server.signedIn(.n4)
            let other = try await server.signedIn(.n4)
            #expect(try await server.request(.get, "/api/users", token: other.token).status == .ok)
            let demoted = try await server.request(.put, "/api/users/\(other.user.id)", json: ["accreditation_level": "N2"], token: admin.token)
            #expect(demoted.status == .ok)
            // A lower level ends the user's sessions: the old token is refused outright.
            #expect(try await server.request(.get, "/api/users", token: other.token).status == .unauthorized)
            let fresh = try await server.token(other.user.username)
            #expect(try await server.request(.get, "/api/users", token: fresh).status == .forbidden)
        }
    }
}
