import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import Synchronization
import Testing
import WidipTestSupport
@testable import WidipApp

/// Returns once `condition` holds, polling; fails after `timeout` (generous: the suite runs on two loaded cores).
func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw TestSetupError("still not true after \(timeout): \(what)")
}

/// SAFEGUARD through a live server, the demo MCP server behind it, and real Postgres.
/// One test at a time: each starts servers, MCP peers and processes, and the whole run shares two cores.
@Suite("SAFEGUARD approvals", .serialized, .timeLimit(.minutes(3)))
struct SafeguardTests {
    static let supportToken = "jeton-support-0123456789abcdef-0123"
    static let sentinelToken = "jeton-sentinel-0123456789abcdef-012"

    static func configure(_ config: inout AppConfig, peer: DemoPeer) {
        config.mcpServerURL = peer.endpoint
        config.workflowTokens = WorkflowTokens(["SUPPORT": supportToken, "SENTINEL": sentinelToken])
    }

    static func run(
        _ adjust: @escaping @Sendable (inout AppConfig) -> Void = { _ in }, _ body: @escaping @Sendable (LiveServer, DemoPeer) async throws -> Void
    ) async throws {
        try await DemoPeer.with { peer in
            try await LiveServer.run(adjust: { config in
                configure(&config, peer: peer)
                adjust(&config)
            }) { server in try await body(server, peer) }
        }
    }

    static func resetRequest(_ username: String = "jean.dupont", minutes: Int = 50, key: String? = nil, extra: [String: Any] = [:]) -> [String: Any] {
        var body: [String: Any] = [
            "tool_name": "ad_reset_password", "arguments": ["username": username], "security_level": "L3",
            "context": [
                "ticket_id": 1234, "ticket_title": "Reset MDP - Jean Dupont", "ticket_description": "L'utilisateur a oublié son mot de passe.",
                "client_name": "EHPAD Les Jardins", "workflow": "SUPPORT", "confidence": 95, "site": "Bâtiment B",
            ],
            "expires_at": Date().addingTimeInterval(Double(minutes * 60)).formatted(.iso8601),
        ]
        if let key { body["idempotency_key"] = key }
        body.merge(extra) { _, new in new }
        return body
    }

    static func status(_ server: LiveServer, _ id: String) async throws -> String {
        try await server.services.safeguard.request(id).status
    }

    static func steps(_ server: LiveServer, _ id: String) async throws -> [String] {
        try await server.services.safeguard.timeline(id).map(\.kind)
    }

    static func safeguardEvents(_ server: LiveServer) async throws -> [StoredEvent] {
        try await server.services.events.events(after: 0, channels: ["safeguard"], limit: 1000)
    }

    static func rowCount(_ server: LiveServer) async throws -> Int {
        for try await count in try await server.services.postgres.query("SELECT count(*)::int FROM safeguard_approvals", logger: TestDatabase.logger).decode(Int.self) {
            return count
        }
        return -1
    }

    // MARK: Ways in

    @Test func aWorkflowRequestGetsAReadableIDIsAnnouncedAndARetryCreatesNothing() async throws {
        try await Self.run { server, _ in
            let created = try await server.request(.post, "/api/safeguard/requests", json: Self.resetRequest(key: "ticket-1234-reset"), token: Self.supportToken)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["approval_id"] as? String)
            let year = Calendar(identifier: .gregorian).component(.year, from: Date())
            #expect(id == "APR-\(year)-001")
            #expect(created.headers[.location] == "/api/safeguard/\(id)")
            #expect(created.json["status"] as? String == "pending")
            #expect((created.json["requester"] as? [String: Any])?["name"] as? String == "SUPPORT")
            #expect((created.json["context"] as? [String: Any])?["site"] as? String == "Bâtiment B", "extra context keys are kept as given")
            #expect(created.json["urgency"] as? String == "yellow")
            let impact = try #require(created.json["impact_before"] as? [String: Any], "the account's state is read before the decision")
            #expect(impact["locked"] as? Bool == true)

            let retried = try await server.request(
                .post, "/api/safeguard/requests", json: Self.resetRequest(key: "ticket-1234-reset"), token: Self.supportToken
            )
            #expect(retried.status == .ok)
            #expect(retried.json["approval_id"] as? String == id)
            let viaHeader = try await server.request(
                .post, "/api/safeguard/requests", json: Self.resetRequest(), token: Self.supportToken, headers: HTTPFields([("Idempotency-Key", "ticket-1234-reset")])
            )
            #expect(viaHeader.json["approval_id"] as? String == id)
            let otherAction = try await server.request(
                .post, "/api/safeguard/requests", json: Self.resetRequest("claire.fontaine", key: "ticket-1234-reset"), token: Self.supportToken
            )
            #expect(otherAction.status == .conflict)
            #expect(otherAction.errorCode == "idempotency_conflict")
            #expect(try await Self.rowCount(server) == 1)

            let second = try await server.request(.post, "/api/safeguard/requests", json: Self.resetRequest("claire.fontaine"), token: Self.supportToken)
            #expect(second.json["approval_id"] as? String == "APR-\(year)-002")

            let events = try await Self.safeguardEvents(server).filter { $0.type == "safeguard:new_request" }
            #expect(events.count == 2)
            let data = try #require(JSONValue.parse(events[0].dataJSON)?.objectValue)
            #expect(data["approval_id"] == .string(id))
            #expect(data["client_name"] == .string("EHPAD Les Jardins"))
            #expect(data["pending_count"] == .number(1))

            // A workflow reads its own requests, not another's; a user of N1 reads any.
            let read = try await server.request(.get, "/api/safeguard/\(id)", token: Self.supportToken)
            #expect(read.status == .ok)
            #expect((read.json["timeline"] as? [[String: Any]])?.first?["step"] as? String == "created")
            #expect(try await server.request(.get, "/api/safeguard/\(id)", token: Self.sentinelToken).status == .notFound)
            let n1 = try await server.signedIn(.n1)
            #expect(try await server.request(.get, "/api/safeguard/\(id)", token: n1.token).status == .ok)
            let pending = try await server.request(.get, "/api/safeguard/pending", token: n1.token)
            #expect((pending.json["requests"] as? [[String: Any]])?.map { $0["approval_id"] as? String } == [id, "APR-\(year)-002"])
            #expect(try await server.request(.post, "/api/safeguard/requests", json: Self.resetRequest(), token: n1.token).errorCode == "workflow_only")
            #expect(try await server.request(.post, "/api/safeguard/requests", json: Self.resetRequest()).status == .unauthorized)
        }
    }

    @Test func theAssistantsServiceCallAndARowWrittenBySQLComeInLikeTheAPIs() async throws {
        try await Self.run { server, _ in
            let technician = try await server.createUser("jdupont", level: .n2)
            let (fromAssistant, created) = try await server.services.safeguard.create(
                NewApprovalRequest(
                    tool: "glpi_close_ticket", arguments: ["ticket_id": 1234, "solution": "Mot de passe réinitialisé."],
                    context: ["ticket_id": 1234, "client_name": "EHPAD Les Jardins"], requester: .user(id: technician.id, username: technician.username),
                    conversationID: UUID(uuidString: "0b6f2c1e-8d1a-4b7e-9f35-2a1c4d5e6f70")
                ),
                client: ClientInfo(ipAddress: "10.0.0.5", userAgent: "test")
            )
            #expect(created)
            #expect(fromAssistant.requesterType == "user")
            #expect(fromAssistant.conversationID == UUID(uuidString: "0b6f2c1e-8d1a-4b7e-9f35-2a1c4d5e6f70"))

            try await server.services.postgres.query(
                """
                INSERT INTO safeguard_approvals (tool_name, arguments, security_level, context, expires_at)
                VALUES ('ad_disable_account', '{"username": "marie.leroy"}', 'L3', '{"client_name": "Cabinet Médical Martin"}', NOW() + INTERVAL '30 minutes')
                """,
                logger: TestDatabase.logger
            )
            let pending = try await server.services.safeguard.pending()
            #expect(pending.count == 2)
            let phase1 = try #require(pending.first { $0.toolName == "ad_disable_account" })
            #expect(phase1.approvalID.hasPrefix("APR-"))
            #expect(try await Self.steps(server, phase1.approvalID) == ["created"])
            let announced = try await Self.safeguardEvents(server).filter { $0.type == "safeguard:new_request" }.compactMap {
                JSONValue.parse($0.dataJSON)?.objectValue?["approval_id"]?.stringValue
            }
            #expect(Set(announced) == [fromAssistant.approvalID, phase1.approvalID])
        }
    }

    @Test func badRequestsAreRefusedNamingTheFieldAndNothingIsStored() async throws {
        try await Self.run { server, _ in
            /// "status code field" of the answer.
            func refusal(_ body: [String: Any]) async throws -> String {
                let response = try await server.request(.post, "/api/safeguard/requests", json: body, token: Self.supportToken)
                return "\(response.status.code) \(response.errorCode ?? "-") \(response.errorField ?? "-")"
            }
            var unknown = Self.resetRequest()
            unknown["tool_name"] = "format_c_drive"
            let answer1 = try await refusal(unknown)
            #expect(answer1 == "422 unknown_tool tool_name")
            var harmless = Self.resetRequest()
            harmless["tool_name"] = "ad_check_user"
            let answer2 = try await refusal(harmless)
            #expect(answer2 == "422 approval_not_needed tool_name")
            let answer3 = try await refusal(Self.resetRequest(extra: ["arguments": ["user": "jean.dupont"]]))
            #expect(answer3.hasSuffix(" arguments.username"))
            let answer4 = try await refusal(Self.resetRequest(extra: ["arguments": ["username": 12]]))
            #expect(answer4.hasSuffix(" arguments.username"))
            let answer5 = try await refusal(Self.resetRequest(minutes: -5))
            #expect(answer5 == "422 invalid_field expires_at")
            let answer6 = try await refusal(Self.resetRequest(minutes: 61))
            #expect(answer6 == "422 invalid_field expires_at")
            let answer7 = try await refusal(Self.resetRequest(extra: ["expires_at": "demain"]))
            #expect(answer7.hasSuffix(" expires_at"))
            let answer8 = try await refusal(Self.resetRequest(extra: ["context": ["confidence": 250]]))
            #expect(answer8.hasSuffix(" context.confidence"))
            let answer9 = try await refusal(Self.resetRequest(extra: ["approval_id": "APR-2026-999"]))
            #expect(answer9.hasSuffix(" approval_id"))
            let answer10 = try await refusal(Self.resetRequest(extra: ["callback_url": "ftp://x"]))
            #expect(answer10.hasSuffix(" callback_url"))
            let answer11 = try await refusal(Self.resetRequest(extra: ["execution_mode": "later"]))
            #expect(answer11.hasSuffix(" execution_mode"))
            #expect(try await Self.rowCount(server) == 0)
            #expect(try await Self.safeguardEvents(server).isEmpty)
        }
    }

    // MARK: Decisions

    @Test func levelsDecideAndNobodyDecidesARequestTheyCaused() async throws {
        try await Self.run { server, _ in
            let n1 = try await server.signedIn(.n1)
            let n2 = try await server.signedIn(.n2, name: "jdupont")
            let created = try await server.request(.post, "/api/safeguard/requests", json: Self.resetRequest(), token: Self.supportToken)
            let id = try #require(created.json["approval_id"] as? String)
            #expect(try await server.request(.post, "/api/safeguard/\(id)/approve", token: n1.token).status == .forbidden)
            #expect(try await server.request(.post, "/api/safeguard/\(id)/approve", token: Self.supportToken).errorCode == "users_only")
            #expect(try await server.request(.post, "/api/safeguard/\(id)/reject", json: ["reason": ""], token: n2.token).errorField == "reason")

            let own = try await server.services.safeguard.create(
                NewApprovalRequest(tool: "ad_disable_account", arguments: ["username": "marie.leroy"], requester: .user(id: n2.user.id, username: "jdupont")),
                client: .commandLine
            ).request
            let refused = try await server.request(.post, "/api/safeguard/\(own.approvalID)/approve", token: n2.token)
            #expect(refused.status == .forbidden)
            #expect(refused.errorCode == "own_request")

            let rejected = try await server.request(.post, "/api/safeguard/\(id)/reject", json: ["reason": "Appel du client : déjà réglé"], token: n2.token)
            #expect(rejected.status == .ok)
            #expect(rejected.json["status"] as? String == "rejected")
            #expect(rejected.json["decided_by"] as? String == "jdupont")
            let late = try await server.request(.post, "/api/safeguard/\(id)/approve", token: n2.token)
            #expect(late.status == .conflict)
            let details = (late.json["error"] as? [String: Any])?["details"] as? [String: Any]
            #expect(details?["status"] as? String == "rejected")
            #expect(details?["decided_by"] as? String == "jdupont")
            let audited = try await server.services.audit.list(AuditFilter(action: "safeguard.reject", limit: 5))
            #expect(audited.first?.targetID == id)
            #expect(audited.first?.username == "jdupont")
        }
    }

    @Test func anApprovedActionRunsOnceAgainstTheMCPServerAndIsVerified() async throws {
        try await Self.run { server, _ in
            let n2 = try await server.signedIn(.n2)
            let created = try await server.request(
                .post, "/api/safeguard/requests",
                json: Self.resetRequest(extra: ["tool_name": "ad_disable_account", "arguments": ["username": "marie.leroy", "reason": "Départ"]]),
                token: Self.supportToken
            )
            let id = try #require(created.json["approval_id"] as? String, "\(created.text)")
            let approved = try await server.request(.post, "/api/safeguard/\(id)/approve", token: n2.token)
            #expect(approved.status == .ok)
            try await waitUntil("\(id) executed") { try await Self.status(server, id) == "executed" }
            try await waitUntil("\(id) verified") { try await Self.steps(server, id).contains("verified") }
            let request = try await server.services.safeguard.request(id)
            #expect(request.result?.objectValue?["disabled"] == .bool(true))
            #expect(request.impactAfter?.objectValue?["enabled"] == .bool(false))
            #expect(try await Self.steps(server, id) == ["created", "approved", "executing", "executed", "verified"])
            let types = try await Self.safeguardEvents(server).map(\.type)
            #expect(types.contains("safeguard:request_approved"))
            #expect(types.contains("safeguard:request_executed"))
            let calls = try await server.services.mcp.stats(since: Date().addingTimeInterval(-600))
            #expect(calls["ad_disable_account"]?.successes == 1)
        }
    }

    @Test func aFailedExecutionIsRecordedAndPublished() async throws {
        try await Self.run { server, _ in
            let n2 = try await server.signedIn(.n2)
            // marc.vidal's account is disabled in the demo directory: the reset is refused by the tool.
            let created = try await server.request(.post, "/api/safeguard/requests", json: Self.resetRequest("marc.vidal"), token: Self.supportToken)
            let id = try #require(created.json["approval_id"] as? String)
            #expect(try await server.request(.post, "/api/safeguard/\(id)/approve", token: n2.token).status == .ok)
            try await waitUntil("\(id) failed") { try await Self.status(server, id) == "failed" }
            let request = try await server.services.safeguard.request(id)
            #expect(request.error?.contains("désactivé") == true)
            #expect(try await Self.safeguardEvents(server).contains { $0.type == "safeguard:request_failed" })
        }
    }

    @Test func l4NeedsTwoDifferentPeopleAndOneRejectionEndsIt() async throws {
        try await Self.run({ $0.mcpToolLevels = ["ad_disable_account": .l4] }) { server, _ in
            let n2 = try await server.signedIn(.n2)
            let first = try await server.signedIn(.n3)
            let second = try await server.signedIn(.n4)
            func create(_ username: String) async throws -> String {
                let created = try await server.request(
                    .post, "/api/safeguard/requests",
                    json: Self.resetRequest(extra: ["tool_name": "ad_disable_account", "arguments": ["username": username]]), token: Self.supportToken
                )
                #expect(created.json["security_level"] as? String == "L4")
                #expect(created.json["approvals_required"] as? Int == 2)
                return try #require(created.json["approval_id"] as? String)
            }
            let id = try await create("marie.leroy")
            #expect(try await server.request(.post, "/api/safeguard/\(id)/approve", token: n2.token).errorCode == "insufficient_level")
            let once = try await server.request(.post, "/api/safeguard/\(id)/approve", token: first.token)
            #expect(once.json["status"] as? String == "pending")
            #expect(once.json["approvals_count"] as? Int == 1)
            let twice = try await server.request(.post, "/api/safeguard/\(id)/approve", token: first.token)
            #expect(twice.status == .conflict)
            #expect(twice.errorCode == "already_approved")
            let done = try await server.request(.post, "/api/safeguard/\(id)/approve", token: second.token)
            #expect(done.json["status"] as? String == "approved")
            try await waitUntil("\(id) executed") { try await Self.status(server, id) == "executed" }

            let other = try await create("alain.martin")
            _ = try await server.request(.post, "/api/safeguard/\(other)/approve", token: first.token)
            let rejected = try await server.request(.post, "/api/safeguard/\(other)/reject", json: ["reason": "Pas de départ prévu"], token: second.token)
            #expect(rejected.json["status"] as? String == "rejected")
        }
    }

    @Test func fiftyConcurrentDecisionsOverTwoInstancesMakeOneDecisionAndOneExecution() async throws {
        try await Self.run { server, peer in
            try await SecondServer.run(
                sharing: server,
                environment: ["MCP_SERVER_URL": peer.endpoint, "WORKFLOW_TOKENS": "SUPPORT=\(Self.supportToken)"]
            ) { second in
                var tokens: [String] = []
                for index in 0..<5 { tokens.append(try await server.signedIn(.n3, name: "decideur-\(index)").token) }
                let everyone = tokens
                /// 50 decisions at once, half through each instance; returns their statuses.
                func race(_ id: String, rejecting: Bool) async throws -> [HTTPResponse.Status] {
                    try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                        for index in 0..<50 {
                            let token = everyone[index % everyone.count]
                            let reject = rejecting && index % 2 == 1
                            group.addTask {
                                let path = "/api/safeguard/\(id)/\(reject ? "reject" : "approve")"
                                let body: String? = reject ? #"{"reason": "Course de décisions"}"# : nil
                                let headers: HTTPFields = reject ? [.contentType: "application/json"] : [:]
                                if index % 4 < 2 {
                                    return try await server.request(.post, path, body: body, token: token, headers: headers).status
                                }
                                return try await TestClient.withClient(host: "127.0.0.1", port: second.port) { client in
                                    try await LiveServer.send(through: client, .post, path, body: body, token: token, headers: headers).status
                                }
                            }
                        }
                        return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
                    }
                }
                func create(_ username: String) async throws -> String {
                    let created = try await server.request(
                        .post, "/api/safeguard/requests",
                        json: Self.resetRequest(extra: ["tool_name": "ad_disable_account", "arguments": ["username": username]]), token: Self.supportToken
                    )
                    return try #require(created.json["approval_id"] as? String)
                }

                let mixed = try await create("elodie.blanc")
                let mixedStatuses = try await race(mixed, rejecting: true)
                #expect(mixedStatuses.filter { $0 == .ok }.count == 1, "\(mixedStatuses.map(\.code))")
                #expect(mixedStatuses.filter { $0 == .conflict }.count == 49)
                #expect(try await Self.steps(server, mixed).filter { ["approved", "rejected"].contains($0) }.count == 1)

                let id = try await create("anais.morel")
                let statuses = try await race(id, rejecting: false)
                #expect(statuses.filter { $0 == .ok }.count == 1, "\(statuses.map(\.code))")
                #expect(statuses.filter { $0 == .conflict }.count == 49)
                try await waitUntil("\(id) executed") { try await Self.status(server, id) == "executed" }
                // Give both instances' executors a few rounds to try to run it again.
                try await Task.sleep(for: .seconds(5))
                #expect(try await Self.steps(server, id).filter { $0 == "executing" }.count == 1)
                let result = try await server.services.safeguard.request(id).result
                #expect(result?.objectValue?["disabled"] == .bool(true), "the first and only application, not « déjà désactivé »")
                let applied = try await server.services.postgres.query(
                    "SELECT count(*)::int FROM user_audit_log WHERE action = 'mcp.tool_call' AND target_id = 'ad_disable_account' AND details->>'approval_id' = \(id)",
                    logger: TestDatabase.logger
                )
                for try await count in applied.decode(Int.self) { #expect(count == 1, "one call to the MCP server, over both instances") }
            }
        }
    }

    @Test func requestsExpireOnTimeAreEscalatedBeforeAndCanBePostponedALimitedNumberOfTimes() async throws {
        try await Self.run({ $0.safeguard.maximumPostpones = 1 }) { server, _ in
            let n2 = try await server.signedIn(.n2)
            // Five minutes left: less than the escalation lead (10 min), so it is escalated at once.
            let created = try await server.request(.post, "/api/safeguard/requests", json: Self.resetRequest(minutes: 5), token: Self.supportToken)
            let id = try #require(created.json["approval_id"] as? String)
            try await waitUntil("\(id) escalated") { try await Self.steps(server, id).contains("escalated") }
            #expect(try await Self.status(server, id) == "pending")
            #expect(try await Self.safeguardEvents(server).contains { $0.type == "safeguard:request_escalated" })
            // Its time runs out.
            try await server.services.postgres.query(
                "UPDATE safeguard_approvals SET expires_at = NOW() - INTERVAL '1 second' WHERE approval_id = \(id)", logger: TestDatabase.logger
            )
            let late = try await server.request(.post, "/api/safeguard/\(id)/approve", token: n2.token)
            #expect(late.status == .conflict, "expired means denied, whether the clock or the decision notices first")
            #expect(((late.json["error"] as? [String: Any])?["details"] as? [String: Any])?["status"] as? String == "expired")
            try await waitUntil("\(id) expired") { try await Self.status(server, id) == "expired" }
            #expect(try await Self.steps(server, id).filter { $0 == "expired" }.count == 1)
            #expect(try await Self.safeguardEvents(server).contains { $0.type == "safeguard:request_expired" })

            let later = try await server.request(.post, "/api/safeguard/requests", json: Self.resetRequest("claire.fontaine"), token: Self.supportToken)
            let laterID = try #require(later.json["approval_id"] as? String)
            let before = try await server.services.safeguard.request(laterID).expiresAt
            let postponed = try await server.request(.post, "/api/safeguard/\(laterID)/postpone", token: n2.token)
            #expect(postponed.json["postpone_count"] as? Int == 1)
            let after = try await server.services.safeguard.request(laterID).expiresAt
            #expect(after.timeIntervalSince(before) > 14 * 60)
            let again = try await server.request(.post, "/api/safeguard/\(laterID)/postpone", token: n2.token)
            #expect(again.errorCode == "postpone_limit")
        }
    }

    @Test func anApprovalIsUsableOnlyByItsRequesterWhenItRunsTheActionItself() async throws {
        try await Self.run { server, _ in
            let n2 = try await server.signedIn(.n2)
            let admin = try await server.signedIn(.n4)
            let created = try await server.request(
                .post, "/api/safeguard/requests", json: Self.resetRequest(extra: ["execution_mode": "requester"]), token: Self.supportToken
            )
            let id = try #require(created.json["approval_id"] as? String)
            _ = try await server.request(.post, "/api/safeguard/\(id)/approve", token: n2.token)
            // The executor leaves it alone; someone else holding the id gets nothing from it.
            try await Task.sleep(for: .seconds(3))
            #expect(try await Self.status(server, id) == "approved")
            let stolen = try await server.request(
                .post, "/api/mcp/tools/ad_reset_password/call", json: ["arguments": ["username": "jean.dupont"], "reason": "Essai", "approval_id": id],
                token: admin.token
            )
            #expect(stolen.errorCode == "approval_not_yours")
            #expect(try await server.request(.post, "/api/safeguard/\(id)/execute", token: Self.sentinelToken).status == .notFound)
            let run = try await server.request(.post, "/api/safeguard/\(id)/execute", token: Self.supportToken)
            #expect(run.status == .ok, "\(run.text)")
            #expect(run.json["is_error"] as? Bool == false)
            #expect(try await Self.status(server, id) == "executed")
            #expect(try await server.request(.post, "/api/safeguard/\(id)/execute", token: Self.supportToken).errorCode == "approval_used")
        }
    }

    @Test func theOutcomeIsPostedToTheCallbackSignedAndRetriedUntilAccepted() async throws {
        let receiver = try await CallbackReceiver.start(failFirst: 1)
        defer { receiver.stop() }
        try await Self.run { server, _ in
            let n2 = try await server.signedIn(.n2)
            let created = try await server.request(
                .post, "/api/safeguard/requests", json: Self.resetRequest(extra: ["callback_url": receiver.url]), token: Self.supportToken
            )
            let id = try #require(created.json["approval_id"] as? String)
            _ = try await server.request(.post, "/api/safeguard/\(id)/reject", json: ["reason": "Doublon du ticket 1233"], token: n2.token)
            try await waitUntil("callback delivered") { receiver.received.count >= 2 }
            let deliveries = receiver.received
            #expect(deliveries[0].status == 500, "the first attempt is refused by the receiver")
            let body = try #require(JSONValue.parse(deliveries[1].body)?.objectValue)
            #expect(body["approval_id"] == .string(id))
            #expect(body["status"] == .string("rejected"))
            #expect(body["reason"] == .string("Doublon du ticket 1233"))
            let signature = deliveries[1].signature ?? ""
            let timestamp = signature.split(separator: ",").first.map { String($0.dropFirst(2)) } ?? ""
            let expected = CallbackSender.signature(body: deliveries[1].body, token: Self.supportToken, at: Date(timeIntervalSince1970: Double(timestamp) ?? 0))
            #expect(signature == expected)
        }
    }

    @Test func aBackendKilledDuringAnExecutionIsFinishedAfterwardsOnce() async throws {
        try await DemoPeer.with({ $0.toolDelays = ["ad_disable_account": .seconds(3)] }) { peer in
            try await TestDatabase.withFreshDatabase { database in
                let secret = "test-secret-" + UUID().uuidString + UUID().uuidString
                let process = try ServerProcess(
                    binary: CommandLineTests.binary.path, port: Int.random(in: 10001...19999),
                    environment: [
                        "JWT_SECRET": secret, "BCRYPT_COST": "4", "DATABASE_POOL_SIZE": "4", "MCP_SERVER_URL": peer.endpoint, "WORKFLOW_TOKENS": "SUPPORT=\(Self.supportToken)",
                        "DATABASE_URL": "postgresql://\(database.username):\(database.password ?? "")@\(database.host):\(database.port)/\(database.database)",
                    ]
                )
                let id: String
                do {
                    try await waitUntil("the first instance answers") {
                        (try? await TestClient.withClient(host: "127.0.0.1", port: process.port) { try await $0.get("/health").status }) == .ok
                    }
                    try await TestDatabase.withServices(on: database) { services in
                        _ = try await services.users.create(NewUser(username: "astreinte", password: "motdepasse-solide", level: .n3), actorID: nil, client: .commandLine)
                    }
                    id = try await TestClient.withClient(host: "127.0.0.1", port: process.port) { client in
                        let login = try await LiveServer.send(through: client, .post, "/api/auth/login", json: ["username": "astreinte", "password": "motdepasse-solide"])
                        let token = try #require(login.json["access_token"] as? String)
                        let created = try await LiveServer.send(
                            through: client, .post, "/api/safeguard/requests",
                            json: Self.resetRequest(extra: ["tool_name": "ad_disable_account", "arguments": ["username": "karim.haddad"]]), token: Self.supportToken
                        )
                        let id = try #require(created.json["approval_id"] as? String, "\(created.text)")
                        #expect(try await LiveServer.send(through: client, .post, "/api/safeguard/\(id)/approve", token: token).status == .ok)
                        return id
                    }
                    try await TestDatabase.withServices(on: database) { [id] services in
                        try await waitUntil("\(id) executing") { try await services.safeguard.request(id).status == "executing" }
                    }
                    process.process.signal(SIGKILL)
                    await process.process.waitForExit()
                } catch {
                    await process.shutDown()
                    throw error
                }
                try await LiveServer.run(on: database, adjust: { Self.configure(&$0, peer: peer) }) { server in
                    try await waitUntil("\(id) executed after the restart", timeout: .seconds(60)) { try await Self.status(server, id) == "executed" }
                    let steps = try await Self.steps(server, id)
                    #expect(steps.contains("execution_interrupted"))
                    #expect(steps.filter { $0 == "approved" }.count == 1, "the decision is kept, not taken again")
                    let result = try await server.services.safeguard.request(id).result
                    #expect(result?.objectValue?["disabled"] == .bool(true), "applied once: the retry carried the same idempotency key")
                }
            }
        }
    }

    @Test func csvHistoryAndStatsCountWhatHappened() async throws {
        try await Self.run { server, _ in
            let n2 = try await server.signedIn(.n2)
            var ids: [String] = []
            for username in ["jean.dupont", "claire.fontaine", "=cmd|' /C calc'!A0"] {
                var body = Self.resetRequest(username)
                if username.hasPrefix("=") { body["tool_name"] = "glpi_close_ticket"; body["arguments"] = ["ticket_id": 1235, "solution": username] }
                let created = try await server.request(.post, "/api/safeguard/requests", json: body, token: Self.supportToken)
                ids.append(try #require(created.json["approval_id"] as? String, "\(created.text)"))
            }
            _ = try await server.request(.post, "/api/safeguard/\(ids[0])/reject", json: ["reason": "Doublon"], token: n2.token)
            let stats = try await server.request(.get, "/api/safeguard/stats?days=7", token: n2.token)
            #expect(stats.json["total"] as? Int == 3)
            #expect(stats.json["rejected"] as? Int == 1)
            #expect(stats.json["pending"] as? Int == 2)
            #expect((stats.json["per_day"] as? [[String: Any]])?.count == 7)
            let history = try await server.request(.get, "/api/safeguard/history?status=rejected", token: n2.token)
            #expect(history.json["total"] as? Int == 1)
            let csv = try await server.request(.get, "/api/safeguard/history?format=csv", token: n2.token)
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(csv.text.split(separator: "\r\n").count == 4)
            #expect(csv.text.contains("Rejetée"))
            #expect(try await server.request(.get, "/api/safeguard/history?status=perdu", token: n2.token).errorField == "status")
        }
    }
}

/// A workflow's endpoint for SAFEGUARD's callbacks, on a real socket: refuses the first `failFirst` deliveries.
final class CallbackReceiver: Sendable {
    struct Delivery: Sendable {
        let status: Int
        let body: String
        let signature: String?
    }

    private let state = Mutex<[Delivery]>([])
    private let task: Mutex<Task<Void, any Error>?> = Mutex(nil)
    let port: Int
    var url: String { "http://127.0.0.1:\(port)/safeguard/resultat" }
    var received: [Delivery] { state.withLock { $0 } }

    private init(port: Int) {
        self.port = port
    }

    static func start(failFirst: Int) async throws -> CallbackReceiver {
        let (bound, announce) = AsyncStream<Int>.makeStream()
        let holder = Mutex<CallbackReceiver?>(nil)
        let router = Router()
        router.post("/safeguard/resultat") { request, context -> HTTPResponse.Status in
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            guard let receiver = holder.withLock({ $0 }) else { return .serviceUnavailable }
            let status: HTTPResponse.Status = receiver.received.count < failFirst ? .internalServerError : .noContent
            receiver.state.withLock { $0.append(Delivery(status: Int(status.code), body: body, signature: request.headers[HTTPField.Name("X-Widip-Signature")!])) }
            return status
        }
        var logger = Logger(label: "callback-receiver")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                announce.yield(channel.localAddress?.port ?? 0)
                announce.finish()
            },
            logger: logger
        )
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var ports = bound.makeAsyncIterator()
        guard let port = await ports.next() else { throw TestSetupError("the callback receiver did not start") }
        let receiver = CallbackReceiver(port: port)
        receiver.task.withLock { $0 = task }
        holder.withLock { $0 = receiver }
        return receiver
    }

    func stop() {
        task.withLock { $0?.cancel() }
    }
}
