import Foundation
import KychCore
import KychSDJWT
import Logging

/// Builds the SD-JWT VC verifier for one presentation: issuer keys resolvable for `acceptedIssuerDIDs` (did:jwk, and
/// did:web of those issuers), and status lists read when `checksStatusList`.
package typealias PresentationVerifierFactory = @Sendable (_ acceptedIssuerDIDs: [String], _ checksStatusList: Bool) -> SDJWTVerifier

/// `grant_type=vp_token-bearer` (Nuts RFC021, issue 16): an organisation's wallet presents an SD-JWT VC at `/token`
/// with no person present, and gets an access token for the `[scope_NAME]` sections the credential satisfies.
///
/// The presentation's key binding must name KyCH (`aud`: its token endpoint or its issuer identifier) and carry a
/// nonce from `POST /nonce`, which is spent here, once, across instances. The claims it presented are stored with the
/// token, so `/info` serves them like a person's verified claims.
package struct VPTokenBearerGrant: GrantHandler {
    package var grantType: String { GrantType.vpTokenBearer }
    let scopes: [String: PresentationScope]
    let nonces: PresentationNonces
    let verifier: PresentationVerifierFactory
    /// The KB-JWT `aud` values accepted: the token endpoint first, then the issuer identifier.
    let audiences: [String]
    let store: any FlowStore
    let issuers: [AccessTokenFormat: any AccessTokenIssuer]
    let defaultLifetimeSeconds: Int
    let logger: Logger
    let now: @Sendable () -> Date

    package init(scopes: [PresentationScope], nonces: PresentationNonces, verifier: @escaping PresentationVerifierFactory, issuer: String,
                 store: any FlowStore, issuers: [AccessTokenFormat: any AccessTokenIssuer], defaultLifetimeSeconds: Int, logger: Logger,
                 now: @escaping @Sendable () -> Date) {
        self.scopes = Dictionary(scopes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.nonces = nonces
        self.verifier = verifier
        audiences = [issuer + EndpointPath.token, issuer]
        self.store = store
        self.issuers = issuers
        self.defaultLifetimeSeconds = defaultLifetimeSeconds
        self.logger = logger
        self.now = now
    }

    package func handle(_ request: TokenRequest, client: Client, proof: DPoPProof?) async throws -> TokenResponse {
        let requested = try requestedScopes(request.form["scope"])
        let presentation = try Self.presentation(assertion: request.form["assertion"], submission: request.form["presentation_submission"])
        let now = now()
        let (nonce, audience) = try keyBindingNonceAndAudience(presentation)
        guard let nonceExpiry = try await nonces.expiry(of: nonce, now: now) else {
            throw FlowError.invalidGrant("the key binding nonce was not issued by POST /nonce or has expired")
        }
        let verified = try await verify(presentation, for: requested, nonce: nonce, audience: audience, now: now)
        // Spent only after every check passed, so that garbage cannot burn nonces; two racing requests: one wins.
        guard try await nonces.spend(nonce, until: nonceExpiry, now: now) else {
            throw FlowError.invalidGrant("the key binding nonce was already used")
        }
        let token = try await issueToken(for: client, scope: requested.map(\.name), credential: verified, dpopJKT: proof?.jkt, now: now)
        logger.info("access token issued for a presented credential",
                    metadata: ["client_id": "\(client.clientID)", "grant_type": "\(grantType)", "issuer": "\(verified.issuerDID)"])
        return token
    }

    /// The configured scopes named in `scope` (space-separated, at least one, each a `[scope_NAME]`).
    private func requestedScopes(_ scope: String?) throws -> [PresentationScope] {
        let names = (scope ?? "").split(separator: " ").map(String.init)
        guard !names.isEmpty else { throw FlowError.invalidRequest("scope is missing: name the [scope_NAME] to be granted") }
        return try names.map { name in
            guard let scope = scopes[name] else {
                throw FlowError.oauth(status: 400, error: "invalid_scope", description: "scope \(name) is not offered with this grant")
            }
            return scope
        }
    }

    /// The SD-JWT presentation in `assertion`: the compact form itself, or a DCQL `vp_token` object holding exactly one
    /// presentation (`{"<credential query id>": ["<sd-jwt>"]}`). A `presentation_submission` (Presentation Exchange
    /// 2.x) must map that one presentation at `$` as `vc+sd-jwt` or `dc+sd-jwt`.
    static func presentation(assertion: String?, submission: String?) throws -> String {
        guard let assertion, !assertion.isEmpty else { throw FlowError.invalidRequest("assertion is missing") }
        var presentation = assertion
        if assertion.hasPrefix("{") {
            guard let object = try? JSON.parse(Data(assertion.utf8)).objectValue, object.count == 1,
                  let value = object.values.first, let token = value.stringValue ?? value.arrayValue.flatMap({ $0.count == 1 ? $0[0].stringValue : nil })
            else {
                throw FlowError.invalidRequest("assertion as a DCQL vp_token must hold exactly one credential query id with one presentation")
            }
            presentation = token
        }
        if let submission {
            guard let object = try? JSON.parse(Data(submission.utf8)).objectValue,
                  let map = object["descriptor_map"]?.arrayValue, map.count == 1, let entry = map[0].objectValue,
                  let format = entry["format"]?.stringValue, SDJWTVerifier.sdJWTTypes.contains(format), entry["path"]?.stringValue == "$"
            else {
                throw FlowError.invalidRequest(
                    "presentation_submission must be a JSON object whose descriptor_map has one entry with format vc+sd-jwt or dc+sd-jwt and path $")
            }
        }
        guard presentation.contains("~"), !presentation.hasSuffix("~") else {
            throw FlowError.invalidGrant("the assertion is not an SD-JWT presentation with key binding (<sd-jwt>~<disclosures>~<kb-jwt>)")
        }
        return presentation
    }

    /// The key binding's `nonce` and which accepted `aud` it names, read before the checks (the verifier then demands
    /// exactly these, signed by the holder key); a missing `aud` or another one is checked against the token endpoint.
    private func keyBindingNonceAndAudience(_ presentation: String) throws -> (String, String) {
        guard let kb = try? SDJWT(parsing: presentation).keyBindingJWT, let claims = try? CompactJWS(parsing: kb).claims() else {
            throw FlowError.invalidGrant("the presentation's key binding JWT cannot be read")
        }
        guard let nonce = claims["nonce"]?.stringValue, !nonce.isEmpty else {
            throw FlowError.invalidGrant("the key binding JWT has no nonce (get one from POST /nonce)")
        }
        let aud = claims["aud"]?.stringValue
        return (nonce, audiences.first { $0 == aud } ?? audiences[0])
    }

    /// Runs the verifier library's checks for the first scope, then checks the credential against the others.
    private func verify(_ presentation: String, for scopes: [PresentationScope], nonce: String, audience: String,
                        now: Date) async throws -> VerifiedSDJWT {
        let first = scopes[0]
        let verified: VerifiedSDJWT
        do {
            verified = try await verifier(first.acceptedIssuerDIDs, scopes.contains(where: \.checksStatusList)).verify(
                presentation, requirements: Self.requirements(first, audience: audience, nonce: nonce), now: now)
        } catch {
            throw Self.refusal(error, scope: first.name)
        }
        for scope in scopes.dropFirst() {
            guard scope.acceptedIssuerDIDs.contains(verified.issuerDID) else {
                throw FlowError.invalidGrant("the credential's issuer is not accepted for scope \(scope.name)")
            }
            guard scope.vctValues.contains(verified.vct), Self.claimQueries(scope).allSatisfy({ !$0.path.select(in: .object(verified.claims)).isEmpty })
            else { throw FlowError.oauth(status: 400, error: "invalid_scope", description: "the credential does not satisfy scope \(scope.name)") }
        }
        return verified
    }

    static func requirements(_ scope: PresentationScope, audience: String, nonce: String) -> PresentationRequirements {
        PresentationRequirements(vctValues: scope.vctValues, acceptedIssuerDIDs: scope.acceptedIssuerDIDs, audience: audience, nonce: nonce,
                                 requireHolderBinding: true, claims: claimQueries(scope))
    }

    static func claimQueries(_ scope: PresentationScope) -> [ClaimQuery] {
        scope.requiredClaims.map { ClaimQuery(path: ClaimPath($0.split(separator: ".").map { .key(String($0)) })) }
    }

    /// A failed check as the OAuth error: the credential not fitting the scope is `invalid_scope`, anything else about
    /// the presentation `invalid_grant`. The description is the verifier library's, which never holds claim values.
    static func refusal(_ failure: VerificationFailure, scope: String) -> FlowError {
        switch failure.errorCode {
        case .invalidPresentationSubmission, .credentialMissingData:
            .oauth(status: 400, error: "invalid_scope", description: "the credential does not satisfy scope \(scope): \(failure.errorDescription)")
        default:
            .invalidGrant("\(failure.errorCode.rawValue): \(failure.errorDescription)")
        }
    }

    /// The one place this grant's tokens are made: the presented claims (without the holder key) become a completed
    /// session with its token, bound to the DPoP key `dpopJKT` when the request carried a proof (RFC 9449). The token
    /// lives no longer than the credential (RFC021 §4.1).
    private func issueToken(for client: Client, scope: [String], credential: VerifiedSDJWT, dpopJKT: String?,
                            now: Date) async throws -> TokenResponse {
        guard let issuer = issuers[client.accessTokenFormat] else {
            throw FlowError.oauth(status: 500, error: "server_error", description: "no \(client.accessTokenFormat.rawValue) access tokens can be issued")
        }
        var lifetime = client.accessTokenTTLSeconds ?? defaultLifetimeSeconds
        if let exp = credential.claims["exp"]?.doubleValue { lifetime = max(1, min(lifetime, Int(exp - now.timeIntervalSince1970))) }
        var claims = credential.claims
        claims["cnf"] = nil
        let grant = PresentedGrant(clientID: client.clientID, sessionID: UUID().uuidString.lowercased(), nonce: Secrets.randomToken(bytes: 32),
                                   scope: scope, credential: VerifiedCredential(claims: claims, vct: credential.vct, issuer: credential.issuerDID),
                                   verifiedAt: now, expiresAt: now.addingTimeInterval(TimeInterval(lifetime)))
        let token = try await issuer.issue(for: client, session: grant.session, lifetimeSeconds: lifetime, dpopJKT: dpopJKT,
                                           embeddedClaims: claims, now: now)
        guard try await store.storePresentedGrant(grant, issuing: token.record) else {
            throw FlowError.oauth(status: 401, error: "invalid_client", description: "unknown client")
        }
        return token.response
    }
}

/// `CHECK_STATUS_LIST = no`: a credential's status list entry is not looked up (every credential counts as valid).
package struct StatusNotChecked: StatusListChecker {
    package init() {}
    package func status(uri: String, index: Int, issuerDID: String, now: Date) async throws -> Int { 0 }
}
