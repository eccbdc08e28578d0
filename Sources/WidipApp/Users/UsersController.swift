import Foundation
import Hummingbird

/// `/api/users` (PRD 3.4): HTTP only; rules live in `UsersService`.
struct UsersController {
    static let accessRules = [
        RouteRule(.get, "/api/users", .level(.n4)),
        RouteRule(.post, "/api/users", .level(.n4)),
        RouteRule(.get, "/api/users/{id}", .level(.n4)),
        RouteRule(.put, "/api/users/{id}", .level(.n4)),
        RouteRule(.delete, "/api/users/{id}", .level(.n4)),
    ]

    let users: UsersService
    let meter: TokenMeter

    struct CreateInput: Decodable {
        let username: String
        let password: String
        let role: String?
        let accreditationLevel: AccreditationLevel?
        let tokenQuota: Int?
        let active: Bool?

        enum CodingKeys: String, CodingKey {
            case username, password, role, active
            case accreditationLevel = "accreditation_level"
            case tokenQuota = "token_quota"
        }
    }

    struct UpdateInput: Decodable {
        let username: String?
        let password: String?
        let role: String?
        let accreditationLevel: AccreditationLevel?
        let tokenQuota: Int?
        let active: Bool?

        enum CodingKeys: String, CodingKey {
            case username, password, role, active
            case accreditationLevel = "accreditation_level"
            case tokenQuota = "token_quota"
        }
    }

    struct UserListOutput: Encodable, Sendable {
        let users: [UserOutput]
    }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("/api/users") { request, context in
            let list = try await users.list(search: request.formQuery["search"])
            let used = await meter.used(by: list.map(\.id))
            return JSONBody(UserListOutput(users: list.map { UserOutput($0, tokensUsed: used[$0.id] ?? 0) }))
        }
        group.post("/api/users") { request, context in
            let input = try await request.decodeJSON(CreateInput.self, context: context)
            let user = try await users.create(
                NewUser(
                    username: input.username, password: input.password, role: input.role ?? "tech", level: input.accreditationLevel ?? .n1,
                    tokenQuota: input.tokenQuota ?? UserRules.defaultTokenQuota, active: input.active ?? true
                ),
                actorID: context.user.id, client: context.client(of: request)
            )
            return JSONBody(UserOutput(user), status: .created)
        }
        group.get("/api/users/{id}") { request, context in
            let user = try await users.get(id: try context.userIDParameter())
            return JSONBody(UserOutput(user, tokensUsed: await meter.used(by: user.id)))
        }
        group.put("/api/users/{id}") { request, context in
            let id = try context.userIDParameter()
            let input = try await request.decodeJSON(UpdateInput.self, context: context)
            let user = try await users.update(
                id: id,
                changes: UserChanges(
                    username: input.username, role: input.role, level: input.accreditationLevel, tokenQuota: input.tokenQuota, active: input.active,
                    password: input.password
                ),
                actorID: context.user.id, client: context.client(of: request)
            )
            return JSONBody(UserOutput(user, tokensUsed: await meter.used(by: user.id)))
        }
        group.delete("/api/users/{id}") { request, context in
            let user = try await users.deactivate(id: try context.userIDParameter(), actorID: context.user.id, client: context.client(of: request))
            return JSONBody(UserOutput(user, tokensUsed: await meter.used(by: user.id)))
        }
    }
}

extension AuthenticatedContext {
    /// The `{id}` of a user route; a malformed one is a user that does not exist.
    func userIDParameter() throws -> Int {
        guard let text = parameters.get("id"), let id = Int(text), id > 0, id <= Int(Int32.max) else {
            throw AppError(.notFound, "Utilisateur introuvable.")
        }
        return id
    }
}
