import Foundation
import KychOutboundHTTP
import KychSDJWT

/// Reads a credential's status from its token status list: fetched over `https` (plain `http` only
/// on loopback hosts), at most 200 KiB, checked with `StatusList.verify` (type, issuer-bound `kid`,
/// signature, `sub`, `iat`/`exp`/`ttl`) and then looked up.
package struct RemoteStatusListChecker: StatusListChecker {
    package let resolver: any DIDResolver
    package var maxTokenSize = 200 * 1024

    package init(resolver: any DIDResolver) {
        self.resolver = resolver
    }

    package func status(uri: String, index: Int, issuerDID: String, now: Date) async throws -> Int {
        guard let url = URL(string: uri) else { throw StatusListError("status list uri is not a URL") }
        let reply = try await OutboundHTTP.fetch(url, accept: "application/statuslist+jwt", maxBytes: maxTokenSize)
        guard reply.status == 200 else { throw StatusListError("status list answered HTTP \(reply.status)") }
        let token = String(decoding: reply.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let list = try await StatusList.verify(jwt: token, uri: uri, credentialIssuerDID: issuerDID, resolver: resolver, now: now)
        guard let value = list.value(at: index) else { throw StatusListError("status list index out of range") }
        return value
    }
}
