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
}
