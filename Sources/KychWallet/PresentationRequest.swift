import Crypto
import Foundation
import KychOutboundHTTP
import KychSDJWT
import KychVerifier
import KychVerifierModel

extension PresentationRequest {
    /// Fetches and verifies the request object named by `reference` (a deeplink or a request URI).
    package static func fetch(_ reference: String, resolver: any DIDResolver = VerifierDIDResolver(),
                             now: Date = Date()) async throws -> PresentationRequest {
        let (requestURI, expectedClientID) = try Self.reference(reference)
        let reply = try await OutboundHTTP.fetch(requestURI, accept: "application/\(OpenID4VP.requestObjectType)", maxBytes: 1 << 20)
        guard reply.status == 200 else {
            let detail = (try? JSONText.parseObject(reply.body))?["error_description"]?.stringValue ?? ""
            throw WalletError("the request object answered HTTP \(reply.status) \(detail)")
        }
        return try await verify(String(decoding: reply.body, as: UTF8.self), expectedClientID: expectedClientID,
                                resolver: resolver, now: now)
    }
}
