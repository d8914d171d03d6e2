import Crypto
import Foundation
import KychOutboundHTTP
import KychSDJWT

/// Finds the keys of an SD-JWT VC issuer identified by an https URL (SD-JWT VC §5), such as another KyCH instance's
/// `BASE_URL`: its JWT VC issuer metadata is at `https://<host>/.well-known/jwt-vc-issuer<path>`, its `issuer` must be
/// the issuer identifier, and its keys are in `jwks` or at `jwks_uri`. Fetched through the outbound policy (https, or
/// http on loopback hosts), at most 64 KiB, and kept ``lifetime`` seconds; an unknown `kid` fetches again (a rotation),
/// but at most once per ``refreshInterval`` per issuer, so made-up `kid`s cannot make the verifier fetch on every presentation.
package struct JWTVCIssuerResolver: Sendable {
    /// How long fetched keys are used without asking again.
    package static let lifetime: TimeInterval = 300
    /// How soon after a fetch for an unknown `kid` another one may follow.
    package static let refreshInterval: TimeInterval = 30
    static let maxDocumentSize = 64 * 1024
    static let cache = IssuerKeyCache()

    package init() {}

    /// SD-JWT VC §5.1: the well-known segment goes between the host and the issuer's path.
    package static func metadataURL(for issuer: String) throws(DIDResolutionError) -> URL {
        guard var components = URLComponents(string: issuer), let scheme = components.scheme?.lowercased(),
              scheme == "https" || scheme == "http", components.host?.isEmpty == false,
              components.query == nil, components.fragment == nil, components.user == nil else {
            throw DIDResolutionError("\(issuer.prefix(80)) is not an https issuer identifier")
        }
        var path = components.path
        while path.hasSuffix("/") { path.removeLast() }
        components.path = "/.well-known/jwt-vc-issuer" + path
        guard let url = components.url, OutboundHTTP.isFetchable(url) else {
            throw DIDResolutionError("\(issuer.prefix(80)) is neither https nor http on a loopback host")
        }
        return url
    }

    /// The key `kid` of `issuer`.
    package func publicKey(forKeyID kid: String, ofIssuer issuer: String, now: Date = Date()) async throws -> P256.Signing.PublicKey {
        let cached = await Self.cache.entry(of: issuer, now: now)
        var keys = cached?.keys
        if keys?[kid] == nil, cached?.refreshedAt.map({ now.timeIntervalSince($0) >= Self.refreshInterval }) ?? true {
            keys = try await Self.fetchKeys(of: issuer)
            await Self.cache.store(keys ?? [:], of: issuer, until: now.addingTimeInterval(Self.lifetime),
                                   refreshedAt: cached == nil ? nil : now)
        }
        guard let jwk = keys?[kid] else { throw DIDResolutionError("the issuer \(issuer) publishes no key \(kid.prefix(80))") }
        return try P256PublicJWK(jwk: jwk).signingKey()
    }

    /// The issuer's keys by `kid`, read from its metadata.
    static func fetchKeys(of issuer: String) async throws -> [String: [String: JSONValue]] {
        let metadata = try await DIDResolutionError.fetchObject(metadataURL(for: issuer), accept: "application/json", maxBytes: maxDocumentSize,
                                                                 what: "the JWT VC issuer metadata of \(issuer)")
        guard metadata["issuer"]?.stringValue == issuer else {
            throw DIDResolutionError("the JWT VC issuer metadata at \(try metadataURL(for: issuer)) names another issuer than \(issuer)")
        }
        let jwks: [String: JSONValue]
        switch (metadata["jwks"]?.objectValue, metadata["jwks_uri"]?.stringValue) {
        case (let inline?, nil):
            jwks = inline
        case (nil, let uri?):
            guard let url = URL(string: uri), OutboundHTTP.isFetchable(url) else {
                throw DIDResolutionError("the jwks_uri of \(issuer) is neither https nor http on a loopback host")
            }
            jwks = try await DIDResolutionError.fetchObject(url, accept: "application/json", maxBytes: maxDocumentSize,
                                                            what: "the jwks_uri of \(issuer)")
        default:
            throw DIDResolutionError("the JWT VC issuer metadata of \(issuer) must have one of jwks and jwks_uri")
        }
        var keys: [String: [String: JSONValue]] = [:]
        for key in jwks["keys"]?.arrayValue?.compactMap(\.objectValue) ?? [] {
            if let kid = key["kid"]?.stringValue, keys[kid] == nil { keys[kid] = key }
        }
        return keys
    }
}

/// Fetched issuer keys, shared by all verifications of the process (only accepted issuers are fetched, so it stays small).
actor IssuerKeyCache {
    /// `refreshedAt`: when a fetch for an unknown `kid` last replaced the keys (nil: fetched because none were kept).
    struct Entry {
        var keys: [String: [String: JSONValue]]
        var until: Date
        var refreshedAt: Date?
    }
    private var entries: [String: Entry] = [:]

    func entry(of issuer: String, now: Date) -> Entry? {
        guard let entry = entries[issuer], entry.until > now else { return nil }
        return entry
    }

    func store(_ keys: [String: [String: JSONValue]], of issuer: String, until: Date, refreshedAt: Date?) {
        entries[issuer] = Entry(keys: keys, until: until, refreshedAt: refreshedAt)
    }
}
