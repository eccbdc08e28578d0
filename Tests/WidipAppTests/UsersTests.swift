import Foundation
import HTTPTypes
import Testing
@testable import WidipApp

@Suite("Users and audit over a live server", .timeLimit(.minutes(2)))
struct UsersTests {
    @Test func createListUpdateAndDeactivateWithAuditRows() async throws {
        try await LiveServer.run { server in
            let admin = try await server.signedIn(.n4, name: "khora")
            let created = try await server.request(
                .post, "/api/users", json: ["username": "jdupont", "password": "motdepasse-123", "role": "tech", "accreditation_level": "N2", "token_quota": 12000],
                token: admin.token, headers: HTTPFields([("User-Agent", "tests/1.0")])
            )
            #expect(created.status == .created)
            let id = try #require(created.json["id"] as? Int)
            #expect(created.json["token_quota"] as? Int == 12000)
            #expect(created.json["last_login_at"] == nil || created.json["last_login_at"] is NSNull)

            let duplicate = try await server.request(.post, "/api/users", json: ["username": "JDUPONT", "password": "motdepasse-123"], token: admin.token)
            #expect(duplicate.status == .conflict)
            #expect(duplicate.errorCode == "username_taken")

            let listed = try await server.request(.get, "/api/users?search=dup", token: admin.token)
            #expect((listed.json["users"] as? [[String: Any]])?.map { $0["username"] as? String } == ["jdupont"])

            let jdupontToken = try await server.token("jdupont", password: "motdepasse-123")
            let updated = try await server.request(.put, "/api/users/\(id)", json: ["token_quota": 30000, "role": "admin"], token: admin.token)
            #expect(updated.status == .ok)
            #expect(updated.json["role"] as? String == "admin")
            #expect(try await server.request(.get, "/api/auth/me", token: jdupontToken).status == .ok, "a quota change keeps sessions")

            let deleted = try await server.request(.delete, "/api/users/\(id)", token: admin.token)
            #expect(deleted.status == .ok)
            #expect(deleted.json["active"] as? Bool == false)
            #expect(try await server.request(.get, "/api/auth/me", token: jdupontToken).status == .unauthorized, "deactivation ends sessions")
            let relogin = try await server.request(.post, "/api/auth/login", json: ["username": "jdupont", "password": "motdepasse-123"])
            #expect(relogin.status == .unauthorized)

            let audit = try await server.request(.get, "/api/users/audit?target_type=user&target_id=\(id)", token: admin.token)
            // The refused login above is audited too, under jdupont's own name.
            let entries = try #require(audit.json["entries"] as? [[String: Any]]).filter { ($0["action"] as? String)?.hasPrefix("user_") == true }
            #expect(entries.map { $0["action"] as? String } == ["user_deactivate", "user_update", "user_create"])
            #expect(entries.allSatisfy { $0["username"] as? String == "khora" && $0["ip_address"] as? String == "127.0.0.1" })
            #expect(entries.last?["user_agent"] as? String == "tests/1.0")
            let change = (entries[1]["details"] as? [String: Any])?["token_quota"] as? [String: Any]
            #expect(change?["from"] as? Int == 12000)
            #expect(change?["to"] as? Int == 30000)
            #expect((entries[0]["details"] as? [String: Any])?["sessions_revoked"] as? Int == 1)
        }
    }

    @Test func theLastActiveSuperAdminCannotBeRemovedOrDemoted() async throws {
        try await LiveServer.run { server in
            let admin = try await server.signedIn(.n4)
            let other = try await server.createUser("second-admin", level: .n4)

            let selfDelete = try await server.request(.delete, "/api/users/\(admin.user.id)", token: admin.token)
            #expect(selfDelete.status == .conflict)
            #expect(selfDelete.errorCode == "self_deactivation")
            let selfDemote = try await server.request(.put, "/api/users/\(admin.user.id)", json: ["accreditation_level": "N3"], token: admin.token)
            #expect(selfDemote.errorCode == "self_demotion")

            #expect(try await server.request(.delete, "/api/users/\(other.id)", token: admin.token).status == .ok)
            // Now `admin` is the last active N4: even the command line (no actor) cannot demote it.
            await #expect(throws: AppError.self) {
                _ = try await server.services.users.update(id: admin.user.id, changes: UserChanges(level: .n2), actorID: nil, client: .commandLine)
            }
            let error = try? await server.services.users.deactivate(id: admin.user.id, actorID: nil, client: .commandLine)
            #expect(error == nil)
            #expect(try await server.services.users.get(id: admin.user.id).active)
        }
    }

    @Test func concurrentDemotionsOfTheLastTwoSuperAdminsLeaveOne() async throws {
        try await LiveServer.run { server in
            let first = try await server.createUser("admin-a", level: .n4)
            let second = try await server.createUser("admin-b", level: .n4)
            let users = server.services.users
            let results = await withTaskGroup(of: Bool.self) { group in
                for id in [first.id, second.id] {
                    group.addTask { (try? await users.update(id: id, changes: UserChanges(level: .n3), actorID: nil, client: .commandLine)) != nil }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 1)
            let remaining = try await users.list(search: "admin-").filter { $0.level == .n4 && $0.active }
            #expect(remaining.count == 1)
        }
    }

    @Test func aPasswordResetEndsTheUsersSessions() async throws {
        try await LiveServer.run { server in
            let admin = try await server.signedIn(.n4)
            let tech = try await server.signedIn(.n1)
            let reset = try await server.request(.put, "/api/users/\(tech.user.id)", json: ["password": "mot-de-passe-reinit"], token: admin.token)
            #expect(reset.status == .ok)
            #expect(try await server.request(.get, "/api/auth/me", token: tech.token).status == .unauthorized)
            _ = try await server.token(tech.user.username, password: "mot-de-passe-reinit")
            let audit = try await server.services.audit.list(AuditFilter(action: "user_password_reset"))
            #expect(audit.count == 1)
            #expect(audit.first?.details?.jsonText.contains("mot-de-passe") == false, "no password in the audit log")
            let own = try await server.request(.put, "/api/users/\(admin.user.id)", json: ["password": "mon-nouveau-mdp-123"], token: admin.token)
            #expect(own.status == .conflict)
            #expect(own.errorCode == "own_password")
        }
    }

    @Test func auditFiltersAndKeysetPagination() async throws {
        try await LiveServer.run { server in
            let admin = try await server.signedIn(.n4)
            for index in 0..<7 { try await server.createUser("audit\(index)", level: .n0) }
            var seen: [Int] = []
            var before: Int?
            repeat {
                let query = "/api/users/audit?action=user_create&limit=3" + (before.map { "&before=\($0)" } ?? "")
                let page = try await server.request(.get, query, token: admin.token)
                #expect(page.status == .ok)
                let ids = (page.json["entries"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
                seen += ids
                before = page.json["next_before"] as? Int
            } while before != nil
            #expect(seen.count == 8, "7 users plus the admin")
            #expect(seen == seen.sorted(by: >), "newest first, no duplicate across pages")
            #expect(Set(seen).count == seen.count)

            let byUser = try await server.request(.get, "/api/users/audit?user_id=\(admin.user.id)", token: admin.token)
            #expect((byUser.json["entries"] as? [[String: Any]])?.map { $0["action"] as? String } == ["login"])
            let future = try await server.request(.get, "/api/users/audit?from=2999-01-01", token: admin.token)
            #expect((future.json["entries"] as? [[String: Any]])?.isEmpty == true)
            let today = try await server.request(.get, "/api/users/audit?from=2000-01-01T00:00:00Z&to=2999-01-01", token: admin.token)
            #expect((today.json["entries"] as? [[String: Any]])?.count == 9)
            for bad in ["limit=0", "limit=500", "before=-3", "user_id=abc", "user_id=", "from=hier", "to="] {
                let response = try await server.request(.get, "/api/users/audit?\(bad)", token: admin.token)
                #expect(response.status == .badRequest, "\(bad)")
                #expect(response.errorField == String(bad.prefix(while: { $0 != "=" })))
            }
        }
    }

    @Test func badInputGetsTheRightStatusAndNamesTheField() async throws {
        try await LiveServer.run { server in
            let admin = try await server.signedIn(.n4)
            let cases: [(String, HTTPResponse.Status, String?)] = [
                (#"{"password":"motdepasse-123"}"#, .badRequest, "username"),
                (#"{"username":"ok-name","password":"motdepasse-123","token_quota":"beaucoup"}"#, .badRequest, "token_quota"),
                (#"{"username":"ok-name","password":"motdepasse-123","token_quota":-5}"#, .badRequest, "token_quota"),
                (#"{"username":"ok-name","password":"motdepasse-123","accreditation_level":"N7"}"#, .badRequest, "accreditation_level"),
                (#"{"username":"a b","password":"motdepasse-123"}"#, .badRequest, "username"),
                (#"{"username":"ok-name","password":"motdepasse-123","role":"root"}"#, .badRequest, "role"),
                (#"{"username":"ok-name","password":"court"}"#, .badRequest, "password"),
                (#"{"username":"ok\u0000name","password":"motdepasse-123"}"#, .badRequest, "username"),
                (#"{"username": "#, .badRequest, "body"),
            ]
            for (body, status, field) in cases {
                let response = try await server.request(.post, "/api/users", body: body, token: admin.token, headers: [.contentType: "application/json"])
                #expect(response.status == status, "\(body)")
                #expect(response.errorField == field, "\(body): \(response.text)")
                #expect(!response.text.contains("PSQL") && !response.text.contains("Swift"), "no internals")
            }
            let wrongType = try await server.request(.post, "/api/users", body: "username=x", token: admin.token, headers: [.contentType: "text/plain"])
            #expect(wrongType.status == .unsupportedMediaType)
            let huge = try await server.request(
                .post, "/api/users", body: "{\"username\":\"" + String(repeating: "a", count: 300_000) + "\"}", token: admin.token,
                headers: [.contentType: "application/json"]
            )
            #expect(huge.status == .contentTooLarge)
            #expect(try await server.request(.get, "/api/users/99999", token: admin.token).status == .notFound)
            #expect(try await server.request(.get, "/api/users/abc", token: admin.token).status == .notFound)
            let nowhere = try await server.request(.get, "/api/nowhere", token: admin.token)
            #expect(nowhere.status == .notFound)
            #expect(nowhere.errorCode == "not_found")
            let patch = try await server.request(.patch, "/api/users/1", token: admin.token)
            #expect(patch.status == .methodNotAllowed)
            #expect(patch.headers[.allow] == "GET, PUT, DELETE")
        }
    }
}
