/// PRD 3.4.1: what each level may do. Ordered, so a route's minimum level is a comparison.
public enum AccreditationLevel: String, Sendable, Codable, CaseIterable, Comparable {
    /// Read-only: WIBOT chat only.
    case n0 = "N0"
    /// Technician: L1 actions, SAFEGUARD read.
    case n1 = "N1"
    /// Senior technician: L1–L2 actions, SAFEGUARD approve.
    case n2 = "N2"
    /// Admin: L1–L3 actions, all of SAFEGUARD, supervision.
    case n3 = "N3"
    /// Super admin: everything, user management.
    case n4 = "N4"

    var rank: Int {
        switch self {
        case .n0: 0
        case .n1: 1
        case .n2: 2
        case .n3: 3
        case .n4: 4
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }

    /// The role alone, for a choice list too narrow for `frenchLabel`.
    public var shortLabel: String {
        switch self {
        case .n0: "Lecture seule"
        case .n1: "Technicien"
        case .n2: "Technicien senior"
        case .n3: "Admin"
        case .n4: "Super admin"
        }
    }

    public var frenchLabel: String {
        switch self {
        case .n0: "Lecture seule (WIBOT chat uniquement)"
        case .n1: "Technicien (actions L1, lecture SAFEGUARD)"
        case .n2: "Technicien senior (actions L1-L2, approbation SAFEGUARD)"
        case .n3: "Admin (actions L1-L3, tout SAFEGUARD, supervision)"
        case .n4: "Super admin (tout, gestion des utilisateurs)"
        }
    }
}
