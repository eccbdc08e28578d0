import Foundation
import Testing
@testable import WidipApp

@Suite("Audit viewer", .timeLimit(.minutes(2)))
struct AuditPagesTests {
    /// The `<tr data-id="…">…</tr>` rows of an HTML text, by id.
    static func rows(in html: String) -> [Int: String] {
        var rows: [Int: String] = [:]
        var rest = html[...]
        while let start = rest.range(of: "<tr data-id=\""), let end = rest[start.upperBound...].range(of: "</tr>") {
            let row = String(rest[start.lowerBound..<end.upperBound])
            if let id = Int(rest[start.upperBound...].prefix(while: \.isNumber)) { rows[id] = row }
            rest = rest[end.upperBound...]
        }
        return rows
    }

    @Test func rowsThatArriveLiveHaveTheShapeOfThePagesRows() async throws {
        try await LiveServer.run { server in
            let admin = try await server.signedIn(.n4)
            let before = try await server.request(.get, "/audit", token: admin.token)
            #expect(before.status == .ok)
            let newest = try #require(Self.rows(in: before.text).keys.max())

            try await server.createUser("arrivee-en-direct", level: .n1)
            let live = try await server.request(.get, "/audit/lignes?apres=\(newest)", token: admin.token)
            #expect(live.status == .ok)
            #expect(live.headers[.contentType]?.hasPrefix("text/html") == true)
            let arrived = Self.rows(in: live.text)
            #expect(arrived.count == 1)
            let (id, row) = try #require(arrived.first)
            #expect(id > newest)
            #expect(row.contains("user_create"))

            // Reloading the page shows the same row, to the byte.
            let after = try await server.request(.get, "/audit", token: admin.token)
            #expect(Self.rows(in: after.text)[id] == row)
            #expect(Self.rows(in: try await server.request(.get, "/audit/lignes?apres=\(id)", token: admin.token).text).isEmpty)
            for bad in ["", "?apres=", "?apres=-1", "?apres=abc", "?apres=2147483648"] {
                #expect(try await server.request(.get, "/audit/lignes\(bad)", token: admin.token).status == .badRequest, "\(bad)")
            }
        }
    }

    @Test func rowsReadInFrenchWithNamedTargetsAndShortDetails() async throws {
        try await LiveServer.run { server in
            let admin = try await server.signedIn(.n4, name: "chef")
            let jdupont = try await server.createUser("jdupont", level: .n1)
            _ = try await server.token("jdupont")
            _ = try await server.request(.post, "/api/auth/login", json: ["username": "jdupont", "password": "mauvais"])
            #expect(try await server.request(.put, "/api/users/\(jdupont.id)", json: ["role": "admin"], token: admin.token).status == .ok)
            let longArgument = String(repeating: "une très longue valeur ", count: 250)
            try await server.services.audit.record(
                AuditEntry(
                    userID: admin.user.id, action: "mcp.tool_call", targetType: "mcp_tool", targetID: "glpi_search_tickets",
                    details: ["tool": "glpi_search_tickets", "outcome": "success", "arguments": ["query": .string(longArgument)]], client: .commandLine
                )
            )

            let page = try await server.request(.get, "/audit", token: admin.token)
            let rows = Self.rows(in: page.text).values
            let login = try #require(rows.first { $0.contains("title=\"login\"") && $0.contains(">jdupont<") })
            #expect(login.contains(">Connexion<"))
            #expect(login.contains("session de jdupont"))
            #expect(!login.contains("session #"))
            let refused = try #require(rows.first { $0.contains("title=\"login_failed\"") })
            #expect(refused.contains("Connexion refusée"))
            #expect(refused.contains("utilisateur jdupont"))
            #expect(refused.contains("motif : mot de passe erroné"))
            let update = try #require(rows.first { $0.contains("title=\"user_update\"") })
            #expect(update.contains("utilisateur jdupont"))
            #expect(update.contains("rôle : tech → admin"))
            #expect(!update.contains("user #"))
            // A long value is cut in the row; the whole text is behind <details>.
            let call = try #require(rows.first { $0.contains("title=\"mcp.tool_call\"") })
            #expect(call.contains("Appel d&#39;outil MCP") || call.contains("Appel d'outil MCP"))
            #expect(call.contains("outil glpi_search_tickets"))
            let summary = try #require(
                call.range(of: "<summary>").flatMap { start in call[start.upperBound...].range(of: "</summary>").map { call[start.upperBound..<$0.lowerBound] } }
            )
            #expect(summary.count <= AuditPresentation.summaryLimit + 20)
            #expect(summary.hasPrefix("outil : glpi_search_tickets · résultat : réussi"))
            #expect(call.contains("<pre>"))
            #expect(call.count > longArgument.count)
            // The action filter lists actions in French, codes as values.
            #expect(page.text.contains("<option value=\"login_failed\">Connexion refusée</option>"))
        }
    }

    @Test func moreNewRowsThanAPageHoldsAskForAReloadInsteadOfLeavingAGap() async throws {
        try await LiveServer.run { server in
            let admin = try await server.signedIn(.n4)
            let newest = try #require(Self.rows(in: try await server.request(.get, "/audit", token: admin.token).text).keys.max())
            for index in 0..<AuditPages.liveRowLimit { try await server.createUser("rafale-\(index)", level: .n0) }
            let exactlyAPage = try await server.request(.get, "/audit/lignes?apres=\(newest)", token: admin.token)
            #expect(Self.rows(in: exactlyAPage.text).count == AuditPages.liveRowLimit)
            try await server.createUser("une-de-trop", level: .n0)
            let tooMany = try await server.request(.get, "/audit/lignes?apres=\(newest)", token: admin.token)
            #expect(tooMany.status == .resetContent)
            #expect(tooMany.text.isEmpty)
        }
    }

    @Test func filterValuesAreReadAsBrowsersSendThemWithPlusForSpace() async throws {
        try await LiveServer.run { server in
            let admin = try await server.signedIn(.n4)
            try await server.services.audit.record(
                AuditEntry(userID: admin.user.id, action: "essai", targetType: "poste", targetID: "poste de travail", client: .commandLine)
            )
            let api = try await server.request(.get, "/api/users/audit?target_id=poste+de+travail", token: admin.token)
            #expect((api.json["entries"] as? [[String: Any]])?.count == 1)
            let page = try await server.request(.get, "/audit?target_type=&target_id=poste+de+travail", token: admin.token)
            #expect(Self.rows(in: page.text).count == 1)
            #expect(page.text.contains(#"value="poste de travail""#))
        }
    }

    @Test func datesThatDoNotExistOrCarryGarbageAreRefusedWithTheFieldNamed() async throws {
        try await LiveServer.run { server in
            let admin = try await server.signedIn(.n4)
            for bad in ["from=2024-01-01garbage", "from=2024-02-31", "to=2024-01-01T25:00:00Z", "to=2024-13-01", "from=2024-01-01T10:61:00Z", "from=24-01-01"] {
                let response = try await server.request(.get, "/api/users/audit?\(bad)", token: admin.token)
                #expect(response.status == .badRequest, "\(bad)")
                #expect(response.errorField == String(bad.prefix(while: { $0 != "=" })), "\(bad)")
            }
            for good in ["from=2024-02-29", "from=2024-01-01T08:30:00Z", "from=2024-01-01T08:30:00.5%2B02:00", "to=2999-12-31T23:59:59-05:00"] {
                #expect(try await server.request(.get, "/api/users/audit?\(good)", token: admin.token).status == .ok, "\(good)")
            }
        }
    }

    @Test func onlyTheUnfilteredViewSaysLiveAndFollowsNewEntries() async throws {
        try await LiveServer.run { server in
            let admin = try await server.signedIn(.n4)
            let unfiltered = try await server.request(.get, "/audit", token: admin.token)
            #expect(unfiltered.text.contains(#"data-channels="safeguard audit""#))
            #expect(unfiltered.text.contains("audit-live.js"))
            let filtered = try await server.request(.get, "/audit?action=login", token: admin.token)
            #expect(filtered.status == .ok)
            // Still live for the header's SAFEGUARD badge, not for audit entries.
            #expect(filtered.text.contains(#"data-channels="safeguard""#))
            #expect(!filtered.text.contains("audit-live.js"))
        }
    }
}
