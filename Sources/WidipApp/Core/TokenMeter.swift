/// Tokens each user has used this month, read from the chat's ledger: the users list, `/api/auth/me` and the account
/// page show them against the quota (PRD 3.4.1 « Tokens 45k/50k »). A failed read shows 0 rather than failing the page.
public struct TokenMeter: Sendable {
    let monthly: @Sendable (_ userIDs: [Int]) async throws -> [Int: Int]

    func used(by ids: [Int]) async -> [Int: Int] {
        guard !ids.isEmpty else { return [:] }
        return (try? await monthly(ids)) ?? [:]
    }

    func used(by id: Int) async -> Int {
        await used(by: [id])[id] ?? 0
    }
}
