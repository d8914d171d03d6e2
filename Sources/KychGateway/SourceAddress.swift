import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension Request {
    /// The address a request came from, as per-address limits count it: the peer's, except when the peer is local (a
    /// Unix socket, loopback, or unknown), i.e. a reverse proxy on this machine; then the `X-Real-IP` it set, else the
    /// last `X-Forwarded-For` entry (what nginx's `$proxy_add_x_forwarded_for` appends). An IPv6 address counts as its /64
    /// (one subscriber's prefix). nil when the address cannot be told: a local peer that forwarded none.
    package func sourceAddress(peer: SocketAddress?) -> String? {
        var address = peer
        if Self.isLocal(peer) {
            let forwarded = headers[.xRealIP] ?? headers[values: .xForwardedFor].joined(separator: ",").split(separator: ",").last.map(String.init)
            address = forwarded.flatMap { try? SocketAddress(ipAddress: $0.trimmingCharacters(in: CharacterSet.whitespaces), port: 0) }
        }
        switch address {
        case .v4?:
            return address?.ipAddress
        case .v6(let a)?:
            let bytes = withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                return bytes[12...].map(String.init).joined(separator: ".")   // IPv4-mapped
            }
            return stride(from: 0, to: 8, by: 2).map { String(format: "%x", Int(bytes[$0]) << 8 | Int(bytes[$0 + 1])) }
                .joined(separator: ":") + "::/64"
        default:
            return nil
        }
    }

    private static func isLocal(_ peer: SocketAddress?) -> Bool {
        switch peer {
        case nil, .unixDomainSocket?: true
        case .v4?: peer?.ipAddress?.hasPrefix("127.") == true
        case .v6?: peer?.ipAddress == "::1" || peer?.ipAddress?.hasPrefix("::ffff:127.") == true
        }
    }
}

extension HTTPField.Name {
    static let xRealIP = Self("X-Real-IP")!
    static let xForwardedFor = Self("X-Forwarded-For")!
}
