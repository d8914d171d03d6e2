import Crypto
import Foundation
import KychCore
import Logging
import Synchronization

/// What a request offers for client authentication: the path's client id (`/setup/{client_id}`),
/// the `Authorization` header and the form body.
package struct ClientAuthenticationRequest: Sendable {
    package var pathClientID: String?
    package var authorization: String?
    package var form: [String: String]
    /// Where the request came from, for the per-address failure limit; nil when unknown.
    package var sourceAddress: String?
    /// The path of the endpoint that received the request (`/token`, `/revoke`): a client assertion may name its
    /// URL as its audience. nil: the issuer and the token endpoint only.
    package var endpoint: String?

    package init(pathClientID: String? = nil, authorization: String?, form: [String: String] = [:], sourceAddress: String? = nil,
                 endpoint: String? = nil) {
        self.pathClientID = pathClientID
        self.authorization = authorization
        self.form = form
        self.sourceAddress = sourceAddress
        self.endpoint = endpoint
    }

    package var bearerCredential: String? { HTTPAuthorization.bearer(authorization) }
    package var basicCredentials: (clientID: String, secret: String)? {
        HTTPAuthorization.basic(authorization).map { ($0.user, $0.password) }
    }
}

/// A client id and the secret presented for it (none for a public client), or a client assertion, found by one
/// authentication method.
package struct PresentedSecret: Sendable {
    package var clientID: String
    package var secret: String?
    /// The `WWW-Authenticate` challenge when these credentials are refused.
    package var challenge: String?
    /// The request's ``ClientAuthenticationRequest/sourceAddress``.
    package var sourceAddress: String?
    /// The method's name, which the client must be allowed (``Client/authenticationMethods``); nil for `/setup`'s
    /// bearer secret, which `TOKEN_ENDPOINT_AUTH_METHOD` does not restrict.
    package var method: String?
    /// A `private_key_jwt` assertion (RFC 7523), checked instead of a secret.
    package var assertion: String?
    /// The request's ``ClientAuthenticationRequest/endpoint``.
    package var endpoint: String?

    package init(clientID: String, secret: String?, challenge: String?, sourceAddress: String? = nil, method: String? = nil,
                 assertion: String? = nil) {
        self.clientID = clientID
        self.secret = secret
        self.challenge = challenge
        self.sourceAddress = sourceAddress
        self.method = method
        self.assertion = assertion
    }
}

/// One client-authentication method (a strategy): finds its credentials in a request, or says it is
/// not used. Every endpoint that authenticates clients lists the methods it accepts.
package protocol ClientAuthenticationMethod: Sendable {
    /// The name in discovery metadata (`token_endpoint_auth_methods_supported`).
    var name: String { get }
    /// The credentials this method finds; nil if the request does not use it; throws a malformed use.
    func credentials(in request: ClientAuthenticationRequest) throws(FlowError) -> PresentedSecret?
    /// The error when no accepted method was used at all.
    var missingError: FlowError { get }
}

extension ClientAuthenticationMethod {
    /// The token endpoint's methods share one message.
    package var missingError: FlowError {
        .invalidClient("client authentication is missing (client_id and client_secret, or HTTP Basic)")
    }
}

/// `POST /setup/{client_id}` with `Authorization: Bearer <secret>` (the KyCH manual's form).
package struct BearerSecretAuthentication: ClientAuthenticationMethod {
    package var name: String { "bearer_secret" }
    package init() {}

    package func credentials(in request: ClientAuthenticationRequest) throws(FlowError) -> PresentedSecret? {
        guard let secret = request.bearerCredential, !secret.isEmpty, let id = request.pathClientID else { return nil }
        return PresentedSecret(clientID: id, secret: secret, challenge: "Bearer realm=\"kych\", error=\"invalid_client\"")
    }

    package var missingError: FlowError {
        .invalidClient("missing Authorization: Bearer <client secret>", challenge: "Bearer realm=\"kych\"")
    }
}

/// RFC 6749 §2.3.1 HTTP Basic.
package struct ClientSecretBasic: ClientAuthenticationMethod {
    package var name: String { "client_secret_basic" }
    package init() {}

    package func credentials(in request: ClientAuthenticationRequest) throws(FlowError) -> PresentedSecret? {
        guard let basic = request.basicCredentials else { return nil }
        if let bodyID = request.form["client_id"], bodyID != basic.clientID {
            throw .invalidRequest("client_id does not match the credentials")
        }
        return PresentedSecret(clientID: basic.clientID, secret: basic.secret, challenge: "Basic realm=\"kych\"", method: name)
    }
}

/// RFC 6749 §2.3.1 `client_id` and `client_secret` in the form body.
package struct ClientSecretPost: ClientAuthenticationMethod {
    package var name: String { "client_secret_post" }
    package init() {}

    package func credentials(in request: ClientAuthenticationRequest) throws(FlowError) -> PresentedSecret? {
        guard let secret = request.form["client_secret"] else { return nil }
        guard let id = request.form["client_id"] else { throw missingError }
        return PresentedSecret(clientID: id, secret: secret, challenge: nil, method: name)
    }
}

/// RFC 7591 `none`: a public client names itself with `client_id` alone; PKCE binds its code.
package struct NoneAuthentication: ClientAuthenticationMethod {
    package var name: String { "none" }
    package init() {}

    package func credentials(in request: ClientAuthenticationRequest) throws(FlowError) -> PresentedSecret? {
        guard request.authorization == nil, request.form["client_secret"] == nil, !PrivateKeyJWT.isUsed(by: request),
              let id = request.form["client_id"] else { return nil }
        return PresentedSecret(clientID: id, secret: nil, challenge: nil, method: name)
    }
}

/// Authenticates clients: one component for every endpoint that does, with the methods it accepts. A client
/// uses only the methods it is allowed (``Client/authenticationMethods``: `TOKEN_ENDPOINT_AUTH_METHOD`, its
/// secret, its keys); a `private_key_jwt` assertion is checked by ``ClientAssertions``.
///
/// A successful secret check is remembered under HMAC(process key, secret ‖ stored hash): a changed
/// secret or hash gives another key, so nothing stale is ever served, and the cache holds no secret.
/// Failures are limited per client id and per source address (``FailedAuthenticationLimits``); past the
/// limit only a remembered secret is still accepted, and no bcrypt runs.
package final class ClientAuthenticator: Sendable {
    /// Checks a secret against a bcrypt hash. The server runs it on its own hashing threads and throws
    /// ``FlowError/retryLater(status:kind:seconds:message:)`` when they are full.
    package typealias SecretCheck = @Sendable (_ secret: String, _ hash: String) async throws -> Bool

    private let clients: any ClientRepository
    private let checkSecret: SecretCheck
    /// nil: no `private_key_jwt` (a caller that checks no assertions).
    private let assertions: ClientAssertions?
    package let limits: FailedAuthenticationLimits
    private let logger: Logger
    private let key = SymmetricKey(size: .bits256)
    private let verified = Mutex<Set<Data>>([])
    private let capacity: Int

    package init(clients: any ClientRepository, capacity: Int = 4096, limits: FailedAuthenticationLimits = FailedAuthenticationLimits(),
                 assertions: ClientAssertions? = nil, logger: Logger = Logger(label: "kych.client-authentication"),
                 checkSecret: @escaping SecretCheck = { Secrets.verifySecret($0, hash: $1) }) {
        self.clients = clients
        self.assertions = assertions
        self.capacity = capacity
        self.limits = limits
        self.logger = logger
        self.checkSecret = checkSecret
    }

    /// The client the request authenticates with one of `methods`. More than one method in one request
    /// is `invalid_request`; none, an unknown client or a wrong secret is `invalid_client`.
    package func authenticate(_ request: ClientAuthenticationRequest, methods: [any ClientAuthenticationMethod]) async throws -> Client {
        try await verify(try presented(request, methods: methods))
    }

    /// The credentials of the one method the request uses (no secret checked yet).
    package func presented(_ request: ClientAuthenticationRequest, methods: [any ClientAuthenticationMethod]) throws(FlowError) -> PresentedSecret {
        var found: [PresentedSecret] = []
        for method in methods {
            if var credentials = try method.credentials(in: request) {
                credentials.sourceAddress = request.sourceAddress
                credentials.endpoint = request.endpoint
                found.append(credentials)
            }
        }
        guard found.count <= 1 else { throw .invalidRequest("use one client authentication method, not two") }
        guard let presented = found.first else { throw methods.first?.missingError ?? .invalidClient("no client authentication") }
        return presented
    }

    /// The registered client whose secret or assertion was presented.
    package func verify(_ presented: PresentedSecret) async throws -> Client {
        let client = try await clients.client(id: presented.clientID)
        if let client { try permit(presented, client: client) }
        if let assertion = presented.assertion { return try await verify(assertion: assertion, presented, client: client) }
        guard let secret = presented.secret else {
            // Only a public client may come without a secret; a confidential one is told what is missing.
            guard let client, client.isPublic else {
                refused(presented, reason: "no secret")
                let methods = client?.authenticationMethods ?? []
                throw FlowError.invalidClient(client == nil || methods.contains { $0.hasPrefix("client_secret_") }
                    ? "client authentication is missing (client_id and client_secret, or HTTP Basic)"
                    : "client authentication is missing: this client must use \(methods.joined(separator: " or "))")
            }
            return client
        }
        guard secret.utf8.count <= Secrets.bcryptMaximumBytes else {
            // bcrypt would compare the first 72 bytes only: a longer secret is never truncated to match.
            refused(presented, reason: "secret longer than \(Secrets.bcryptMaximumBytes) bytes")
            throw FlowError.invalidClient("the client secret is longer than \(Secrets.bcryptMaximumBytes) bytes", challenge: presented.challenge)
        }
        let hash = client?.secretHash
        let remembered = hash.map { cacheKey(secret: secret, hash: $0) }
        if let client, let remembered, verified.withLock({ $0.contains(remembered) }) {
            limits.recordSuccess(address: presented.sourceAddress)
            return client
        }
        try checkLimits(presented)
        // An unknown or public client's secret is checked against a hash of the same cost: the time taken
        // does not tell whether the client exists.
        let matched = try await checkSecret(secret, hash ?? Secrets.unknownClientHash)
        guard matched, let client, let remembered else {
            countFailure(presented)
            if let client, client.isPublic {
                refused(presented, reason: "public client with a secret")
                // Its id is public anyway: say why, rather than "wrong secret".
                throw FlowError.invalidClient("a public client has no secret: it uses /authorize with PKCE (no /setup, no client secret)",
                                              challenge: presented.challenge)
            }
            refused(presented, reason: client == nil ? "unknown client" : "wrong secret")
            throw FlowError.invalidClient("unknown client or wrong client secret", challenge: presented.challenge)
        }
        verified.withLock {
            if $0.count >= capacity { $0.removeAll() }
            $0.insert(remembered)
        }
        limits.recordSuccess(address: presented.sourceAddress)
        return client
    }

    /// Refuses a method the client may not use (RFC 7591 `token_endpoint_auth_method`), naming the ones it may: counted
    /// like a wrong secret. `none` is left to the secret check, and so is a public client's secret (it costs one bcrypt
    /// check like an unknown client's, so the time taken does not tell which ids exist).
    private func permit(_ presented: PresentedSecret, client: Client) throws(FlowError) {
        guard let method = presented.method, method != NoneAuthentication().name, !(client.isPublic && presented.secret != nil)
        else { return }
        let allowed = client.authenticationMethods
        guard !allowed.contains(method) else { return }
        countFailure(presented)
        refused(presented, reason: "\(method) is not this client's method")
        throw .invalidClient("this client must authenticate with \(allowed.joined(separator: " or ")), not \(method)",
                             challenge: presented.challenge)
    }

    /// A `private_key_jwt` client: its assertion checked by ``assertions``; a refusal counts like a wrong secret.
    private func verify(assertion: String, _ presented: PresentedSecret, client: Client?) async throws -> Client {
        try checkLimits(presented)
        do {
            guard let client else { throw JWTRefusal("unknown client") }
            guard let assertions else { throw JWTRefusal("private_key_jwt is not accepted here") }
            try await assertions.verify(assertion, client: client, endpoint: presented.endpoint)
            limits.recordSuccess(address: presented.sourceAddress)
            return client
        } catch let refusal as JWTRefusal {
            countFailure(presented)
            refused(presented, reason: refusal.reason)
            throw FlowError.invalidClient("the client assertion is refused: \(refusal.reason)", challenge: presented.challenge)
        }
    }

    /// `429` while the client id or the source address is past its failure limit.
    private func checkLimits(_ presented: PresentedSecret) throws(FlowError) {
        guard let seconds = limits.retryAfter(clientID: presented.clientID, address: presented.sourceAddress) else { return }
        logger.debug("client authentication refused: too many failures", metadata: metadata(presented))
        throw .retryLater(status: 429, kind: nil, seconds: seconds, message: "too many failed client authentications; retry in \(seconds) s")
    }

    /// Counts a failure; the one that reaches a limit is logged.
    private func countFailure(_ presented: PresentedSecret) {
        if limits.recordFailure(clientID: presented.clientID, address: presented.sourceAddress) {
            logger.warning("client authentication limit reached", metadata: metadata(presented))
        }
    }

    private func cacheKey(secret: String, hash: String) -> Data {
        var message = Data(secret.utf8)
        message.append(0)
        message.append(contentsOf: hash.utf8)
        return Data(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// One log line per refusal: who, why and from where; never the secret.
    private func refused(_ presented: PresentedSecret, reason: String) {
        var fields = metadata(presented)
        fields["reason"] = "\(reason)"
        logger.notice("client authentication failed", metadata: fields)
    }

    private func metadata(_ presented: PresentedSecret) -> Logger.Metadata {
        ["client_id": "\(FailedAuthenticationLimits.key(presented.clientID))", "source": "\(presented.sourceAddress ?? "-")"]
    }
}
