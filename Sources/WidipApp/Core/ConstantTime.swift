import Crypto
import Foundation

/// Compares two secrets (a password, a token) in time that depends on neither: both are hashed to fixed-length
/// digests first, so not even the length of the stored one leaks.
func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
    let left = SHA256.hash(data: Data(lhs.utf8))
    let right = SHA256.hash(data: Data(rhs.utf8))
    var difference: UInt8 = 0
    for (a, b) in zip(left, right) { difference |= a ^ b }
    return difference == 0
}
