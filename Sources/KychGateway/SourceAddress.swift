import Foundation
import HTTPTypes
import Hummingbird
import KychCore
import NIOCore

/// Where a request came from, for the per-address limit of failed client authentications.
///
/// The TCP peer's address; but when the gateway listens on a Unix socket or a loopback host, the peer is a reverse
/// proxy on this machine, and the address is the proxy's `X-Real-IP`, else the last `X-Forwarded-For` entry (the
/// one the proxy appended). The proxy must set them (contrib/nginx-kych does); the headers are never read
/// otherwise, since any client could send them. Nil behind a Unix socket without them: then the failures are
/// limited per client id only.
package struct SourceAddress {
    static let realIP = HTTPField.Name("X-Real-IP")!
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    let readsProxyHeaders: Bool

    package init(binding: ServerBinding) {
        if case .unix = binding { readsProxyHeaders = true } else { readsProxyHeaders = binding.isLoopbackTCP }
    }

    package func of(_ request: Request, peer: SocketAddress?) -> String? {
        if readsProxyHeaders {
            if let real = request.headers[Self.realIP].map(Self.trimmed), !real.isEmpty { return real }
            if let last = request.headers[values: Self.forwardedFor].last?.split(separator: ",").last.map(Self.trimmed),
               !last.isEmpty { return last }
        }
        return peer?.ipAddress
    }

    private static func trimmed(_ value: some StringProtocol) -> String {
        value.trimmingCharacters(in: .whitespaces)
    }
}
