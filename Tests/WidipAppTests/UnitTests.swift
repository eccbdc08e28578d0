import Foundation
import Testing
@testable import WidipApp

@Suite("Small pieces", .timeLimit(.minutes(2)))
struct UnitTests {
    @Test func sqlScriptSplitsOnlyOnStatementSemicolons() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (x TEXT DEFAULT 'it''s; fine');
            /* block; comment */
            CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN PERFORM 1; RETURN NEW; END $body$ LANGUAGE plpgsql;
            SELECT "odd;name" FROM a
            """
        let statements = SQLScript.statements(script)
        #expect(statements.count == 3)
        #expect(statements[0] == "CREATE TABLE a (x TEXT DEFAULT 'it''s; fine')")
        #expect(statements[1].hasSuffix("END $body$ LANGUAGE plpgsql"))
        #expect(statements[2] == "SELECT \"odd;name\" FROM a")
    }

    @Test func aJSONValueIsAlwaysWrittenAsTheSameBytesKeysSorted() {
        // Built in two orders, so that the two dictionaries' storage differs: a model server's prompt cache needs the
        // same request to come out identical.
        let keys = (0..<40).map { "clé\($0)" }
        let forward = JSONValue.object(Dictionary(uniqueKeysWithValues: keys.map { ($0, JSONValue.string($0)) }))
        let backward = JSONValue.object(Dictionary(uniqueKeysWithValues: keys.reversed().map { ($0, JSONValue.string($0)) }))
        #expect(forward.jsonData == backward.jsonData)
        #expect(JSONValue.object(["b": .number(1), "a": .object(["d": .null, "c": .bool(true)])]).jsonText == #"{"a":{"c":true,"d":null},"b":1}"#)
    }

    @Test func frenchNumbersAndRelativeTimes() {
        let paris = TimeZone(identifier: "Europe/Paris")!
        let format = FrenchFormat(timeZone: paris)
        #expect(format.integer(52340) == "52\u{202F}340")
        #expect(format.integer(1_234_567) == "1\u{202F}234\u{202F}567")
        #expect(format.integer(999) == "999")
        #expect(format.compact(45_000) == "45k")
        let now = try! Date("2026-11-25T13:30:00Z", strategy: .iso8601)  // 14:30 in Paris
        #expect(format.relative(now.addingTimeInterval(-20), now: now) == "À l'instant")
        #expect(format.relative(now.addingTimeInterval(-300), now: now) == "Il y a 5 min")
        #expect(format.relative(now.addingTimeInterval(-3 * 3600), now: now) == "Aujourd'hui 11:30")
        #expect(format.relative(now.addingTimeInterval(-20 * 3600), now: now) == "Hier 18:30")
        #expect(format.relative(now.addingTimeInterval(-3 * 86400), now: now) == "Il y a 3 jours")
        #expect(format.relative(now.addingTimeInterval(-30 * 86400), now: now) == "26/10/2026")
        #expect(format.relative(nil, now: now) == "Jamais")
    }

    @Test func allowedMethodsFollowTheRouteTable() {
        let table = RouteAccessTable(UsersController.accessRules + AuditController.accessRules)
        #expect(table.allowedMethods(forPath: "/api/users/42").map(\.rawValue).sorted() == ["DELETE", "GET", "PUT"])
        #expect(table.allowedMethods(forPath: "/api/users/audit").map(\.rawValue) == ["GET"])
        #expect(table.allowedMethods(forPath: "/nowhere").isEmpty)
    }

    @Test func passwordHasherAcceptsForeignBcryptFlavours() async throws {
        let hasher = PasswordHasher(cost: 4, threadPool: .singleton)
        let ours = try await hasher.hash("mot-de-passe")
        #expect(ours.hasPrefix("$2b$"))
        // The same hash, as PHP and older libraries write it.
        for prefix in ["$2a$", "$2y$"] {
            let foreign = prefix + ours.dropFirst(4)
            #expect(try await hasher.verify("mot-de-passe", against: foreign))
            #expect(try await !hasher.verify("autre", against: foreign))
        }
        #expect(try await hasher.verify("en-clair", against: "en-clair"), "a Phase 1 plaintext still logs in")
        #expect(try await !hasher.verify("en-clair", against: "en-clair-2"))
        #expect(PasswordHasher.isBcryptHash(ours))
        #expect(!PasswordHasher.isBcryptHash("$2b$12$short"))
    }

    @Test func csrfTokensAreBoundToTheSession() async {
        let tokens = await TokenService(secret: String(repeating: "x", count: 40), expireHours: 8)
        let session = UUID()
        let token = tokens.csrfToken(sessionID: session)
        #expect(tokens.isValidCSRFToken(token, sessionID: session))
        #expect(!tokens.isValidCSRFToken(token, sessionID: UUID()))
        #expect(!tokens.isValidCSRFToken("", sessionID: session))
    }

    @Test func tokensRejectTamperingAndExpiry() async throws {
        let tokens = await TokenService(secret: String(repeating: "x", count: 40), expireHours: 8)
        let user = User(id: 3, username: "a", role: "tech", level: .n2, tokenQuota: 1, active: true, lastLoginAt: nil, createdAt: Date(), updatedAt: Date())
        let issued = try await tokens.issue(for: user, sessionID: UUID())
        let claims = await tokens.verify(issued.token)
        #expect(claims?.sub == "3")
        #expect(claims?.accreditationLevel == "N2")
        let parts = issued.token.split(separator: ".")
        let forged = "\(parts[0]).\(parts[1]).AAAA"
        #expect(await tokens.verify(forged) == nil)
        let unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.\(parts[1])."
        #expect(await tokens.verify(unsigned) == nil)
        let old = try await tokens.issue(for: user, sessionID: UUID(), now: Date().addingTimeInterval(-9 * 3600))
        #expect(await tokens.verify(old.token) == nil)
        let otherKey = await TokenService(secret: String(repeating: "y", count: 40), expireHours: 8)
        #expect(await otherKey.verify(issued.token) == nil)
    }
}
