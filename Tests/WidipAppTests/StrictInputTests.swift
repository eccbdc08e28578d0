import Foundation
import HTTPTypes
import Hummingbird
import Testing
@testable import WidipApp

/// Requests that are almost right are refused, not guessed at.
/// One test at a time: they are quick, and the suites around them must keep their share of two cores.
@Suite("Requests that are almost right", .serialized, .timeLimit(.minutes(2)))
struct StrictInputTests {
    static let json = HTTPFields([("Content-Type", "application/json")])

    @Test func jsonWithATrailingCommaIsRefused() async throws {
        #expect(Request.hasTrailingComma(Data(#"{"a":1,}"#.utf8)))
        #expect(Request.hasTrailingComma(Data("[1, 2,\n ]".utf8)))
        #expect(!Request.hasTrailingComma(Data(#"{"a":"x,}","b":[1,2]}"#.utf8)), "inside a string it is text")
        #expect(!Request.hasTrailingComma(Data(#"{"a":"\",}"}"#.utf8)), "an escaped quote does not end the string")
        try await LiveServer.run { server in
            let refused = try await server.request(.post, "/api/auth/login", body: #"{"username":"x","password":"y",}"#, headers: Self.json)
            #expect(refused.status == .badRequest)
            #expect(refused.errorCode == "invalid_json")
            let wellFormed = try await server.request(.post, "/api/auth/login", body: #"{"username":"x,}","password":"y"}"#, headers: Self.json)
            #expect(wellFormed.status == .unauthorized)
        }
    }

    @Test func onlyApplicationJSONIsReadAsJSON() async throws {
        try await LiveServer.run { server in
            let body = #"{"username":"x","password":"y"}"#
            for (type, status) in [
                ("application/jsonx", HTTPResponse.Status.unsupportedMediaType), ("application/json-patch", .unsupportedMediaType),
                ("text/plain", .unsupportedMediaType), ("application/json; charset=utf-8", .unauthorized), ("Application/JSON", .unauthorized),
            ] {
                let response = try await server.request(.post, "/api/auth/login", body: body, headers: HTTPFields([("Content-Type", type)]))
                #expect(response.status == status, "\(type)")
            }
        }
    }

    @Test func aToolNameInThePathIsDecodedAndMustBeAToolName() async throws {
        try await LiveServer.run { server in
            let n1 = try await server.signedIn(.n1)
            let call = ["arguments": ["query": "x"], "reason": "Recherche"] as [String: Any]
            // Decoded, it names an L1 tool: the call goes on and finds no MCP server configured here.
            let encoded = try await server.request(.post, "/api/mcp/tools/glpi%5Fsearch_client/call", json: call, token: n1.token)
            #expect(encoded.errorCode == "mcp_not_configured")
            for bad in ["ab%20cd", "%C3%A9t%C3%A9", String(repeating: "a", count: 129), "a%2Fb", "a%00b"] {
                let response = try await server.request(.post, "/api/mcp/tools/\(bad)/call", json: call, token: n1.token)
                #expect(response.status == .badRequest, "\(bad)")
                #expect(response.errorField == "name" || response.errorCode == "invalid_path", "\(bad)")
            }
        }
    }

    @Test func pathsWithControlCharactersAndStaticFoldersAreRefused() async throws {
        try await LiveServer.run { server in
            let disguised = try await server.request(.get, "/static/js/app.js%00.html")
            #expect(disguised.status == .badRequest)
            #expect(disguised.headers[.contentType]?.hasPrefix("text/html") != true || !disguised.text.contains("import"))
            #expect(try await server.request(.get, "/static/js/app.js%0A").status == .badRequest)
            let script = try await server.request(.get, "/static/js/app.js")
            #expect(script.status == .ok)
            #expect(script.headers[.contentType]?.contains("javascript") == true)
            for folder in ["/static/js", "/static/css", "/static"] {
                let response = try await server.request(.get, folder)
                #expect(response.status == .notFound, "\(folder)")
                #expect(response.headers[.location] == nil, "\(folder)")
            }
        }
    }

    @Test func theFaviconIsServed() async throws {
        try await LiveServer.run { server in
            let conventional = try await server.request(.get, "/favicon.ico")
            #expect(conventional.status == .movedPermanently)
            let location = try #require(conventional.headers[.location])
            let icon = try await server.request(.get, location)
            #expect(icon.status == .ok)
            #expect(icon.headers[.contentType]?.hasPrefix("image/svg+xml") == true)
            let page = try await server.request(.get, "/connexion")
            #expect(page.text.contains(#"<link rel="icon" href="\#(location)""#))
        }
    }

    @Test func pagesSayWhatIsTrueInFrench() async throws {
        try await LiveServer.run(adjust: { $0.rateLimitPerMinute = 3 }) { server in
            let admin = try await server.signedIn(.n4)
            let none = try await server.request(.get, "/utilisateurs?q=personne", token: admin.token)
            #expect(none.text.contains("Aucun utilisateur"))
            #expect(!none.text.contains("0 utilisateurs"))
            var limited: HTTPResult?
            for _ in 0..<6 {
                let response = try await server.request(.get, "/compte", token: admin.token)
                if response.status == .tooManyRequests { limited = response }
            }
            let page = try #require(limited)
            #expect(page.text.contains("<title>Veuillez patienter"))
            #expect(!page.text.contains("Trop de requêtes"))
        }
        let format = FrenchFormat(timeZone: TimeZone(identifier: "Europe/Paris")!)
        let now = Date()
        #expect(format.relativeInSentence(now.addingTimeInterval(-300), now: now) == "il y a 5 min")
        #expect(format.relative(now.addingTimeInterval(-300), now: now) == "Il y a 5 min")
        #expect(format.relativeInSentence(nil) == "jamais")
    }
}
