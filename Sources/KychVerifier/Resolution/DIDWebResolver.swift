import Crypto
import Foundation
import KychOutboundHTTP
import KychCore
import KychSDJWT

/// The `did:web` method (W3C CCG did:web): `did:web:example.com:user:alice` is the document at
/// `https://example.com/user/alice/did.json`, `did:web:example.com` the one at
/// `https://example.com/.well-known/did.json`; a port is written `%3A`. For loopback hosts the
/// document is fetched over plain `http` (tests and development only).
package struct DIDWebResolver: DIDResolver {
    /// The largest DID document accepted.
    package var maxDocumentSize = 256 * 1024

    package init() {}

    /// The URL of the DID document of `did`.
    package static func documentURL(for did: String) throws(DIDResolutionError) -> URL {
        guard did.hasPrefix("did:web:") else { throw DIDResolutionError("\(did) is not a did:web DID") }
        let parts = did.dropFirst("did:web:".count).split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard let hostPart = parts.first?.removingPercentEncoding, !hostPart.isEmpty,
              !hostPart.contains("/"), !hostPart.contains("@"),
              parts.dropFirst().allSatisfy({ !$0.isEmpty && !$0.contains("/") })
        else { throw DIDResolutionError("\(did) is not a valid did:web DID") }
        let host = hostPart.split(separator: ":").first.map(String.init) ?? hostPart
        let scheme = LoopbackHost.contains(host) ? "http" : "https"
        let path = parts.count == 1 ? "/.well-known/did.json" : "/" + parts.dropFirst().joined(separator: "/") + "/did.json"
        guard let url = URL(string: "\(scheme)://\(hostPart)\(path)") else {
            throw DIDResolutionError("\(did) does not map to a URL")
        }
        return url
    }

    package func publicKey(forKeyID kid: String) async throws -> P256.Signing.PublicKey {
        guard let hash = kid.firstIndex(of: "#") else { throw DIDResolutionError("key id \(kid) has no #fragment") }
        let did = String(kid[..<hash]), fragment = String(kid[hash...])
        let url = try Self.documentURL(for: did)
        let document = try await DIDResolutionError.fetchObject(url, accept: "application/did+json, application/json",
                                                                maxBytes: maxDocumentSize, what: "the DID document of \(did)")
        guard document["id"]?.stringValue == did else { throw DIDResolutionError("the DID document's id is not \(did)") }
        let methods = document["verificationMethod"]?.arrayValue?.compactMap(\.objectValue) ?? []
        guard let method = methods.first(where: { $0["id"]?.stringValue == kid || $0["id"]?.stringValue == fragment }) else {
            throw DIDResolutionError("the DID document of \(did) has no verification method \(fragment)")
        }
        guard let jwk = method["publicKeyJwk"]?.objectValue else {
            throw DIDResolutionError("verification method \(kid) has no publicKeyJwk")
        }
        return try P256PublicJWK(jwk: jwk).signingKey()
    }
}

/// Resolves `did:jwk` and `did:web` key ids, and keys of https issuers (``JWTVCIssuerResolver``); any other DID
/// method is unresolvable.
package struct VerifierDIDResolver: DIDResolver {
    let web = DIDWebResolver()
    let jwk = DIDJWKResolver()
    let httpsIssuers = JWTVCIssuerResolver()
    /// When set, only these DIDs (and https issuers) are resolved over the network: a presentation from an issuer that
    /// is not trusted anyway never makes the verifier fetch anything (no request forgery).
    package var fetchableDIDs: Set<String>?

    package init(fetchableDIDs: Set<String>? = nil) {
        self.fetchableDIDs = fetchableDIDs
    }

    package func publicKey(forKeyID kid: String) async throws -> P256.Signing.PublicKey {
        if kid.hasPrefix("did:jwk:") { return try jwk.publicKey(forKeyID: kid) }
        guard kid.hasPrefix("did:web:") else {
            throw DIDResolutionError("the DID method of \(kid.prefix(40)) is not supported (did:jwk and did:web are)")
        }
        let did = String(kid.prefix { $0 != "#" })
        if let fetchableDIDs, !fetchableDIDs.contains(did) {
            throw DIDResolutionError("\(did) is not an accepted issuer, so its DID document is not fetched")
        }
        return try await web.publicKey(forKeyID: kid)
    }

    package func publicKey(forKeyID kid: String, ofIssuer issuer: String) async throws -> P256.Signing.PublicKey {
        if let fetchableDIDs, !fetchableDIDs.contains(issuer) {
            throw DIDResolutionError("\(issuer.prefix(80)) is not an accepted issuer, so its metadata is not fetched")
        }
        return try await httpsIssuers.publicKey(forKeyID: kid, ofIssuer: issuer)
    }
}

/// A DID or key that cannot be resolved.
package struct DIDResolutionError: Error, Sendable, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

extension DIDResolutionError {
    /// The JSON object at `url` (a DID document, issuer metadata, a key set), answered with 200; `what` names it in errors.
    static func fetchObject(_ url: URL, accept: String, maxBytes: Int, what: String) async throws(DIDResolutionError) -> [String: JSONValue] {
        let reply: OutboundHTTP.Reply
        do {
            reply = try await OutboundHTTP.fetch(url, accept: accept, maxBytes: maxBytes)
        } catch {
            throw DIDResolutionError("\(what) cannot be fetched: \(error)")
        }
        guard reply.status == 200 else { throw DIDResolutionError("\(what) answered HTTP \(reply.status)") }
        guard let object = try? JSONText.parseObject(reply.body) else { throw DIDResolutionError("\(what) is not a JSON object") }
        return object
    }
}
