import Foundation
import Hummingbird

/// The browser's session: the JWT in an HttpOnly, SameSite=Strict cookie, never readable by scripts.
enum SessionCookie {
    static let name = "widip_session"

    static func issued(_ token: String, expiresAt: Date, secure: Bool) -> Cookie {
        Cookie(name: name, value: token, expires: expiresAt, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }

    static func expired(secure: Bool) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }
}
