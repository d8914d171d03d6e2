import Foundation
import KychCore

/// The answer to `POST /par` (RFC 9126 §2.2): the handle the client sends to `/authorize` and how long it lives.
package struct PushedAuthorizationResponse: Sendable, Equatable {
    package var requestURI: String
    package var expiresIn: Int
}

extension AuthorizationServer {
    /// RFC 9126 §2.2: the URN prefix of the handles `/par` issues.
    package static let requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

    /// `POST /par` (RFC 9126): authenticates the client with the token endpoint's methods, runs the authorize checks on
    /// the form's parameters (or its request object), every refusal answered as JSON, and stores the checked request
    /// under a new handle that `/authorize` takes once, until `PUSHED_AUTHORIZATION_REQUEST_TTL_SECONDS` pass.
    package func pushAuthorizationRequest(_ request: TokenRequest) async throws -> PushedAuthorizationResponse {
        let client = try await authenticator.authenticate(request.clientAuthentication, methods: tokenEndpoint.methods)
        if let named = request.form["client_id"], named != client.clientID {
            throw FlowError.invalidRequest("client_id is not the authenticated client")
        }
        var parameters = request.form
        parameters["client_id"] = client.clientID
        var pushed = AuthorizationRequest(nonce: nil, parameters: parameters)
        pushed.pushed = true
        let checked = try await checkAuthorizationRequest(pushed, pushing: true).request
        let handle = Self.requestURIPrefix + Secrets.randomToken(bytes: config.nonceBytes)
        let now = now(), lifetime = config.pushedRequestTTLSeconds
        let record = PushedAuthorizationRequest(handleHash: Secrets.sha256(handle), clientID: client.clientID,
                                                parameters: try checked.storedJSON(), createdAt: now,
                                                expiresAt: now.addingTimeInterval(TimeInterval(lifetime)))
        guard try await store.storePushedRequest(record) else {
            throw FlowError.invalidClient("unknown client")   // deleted since it authenticated
        }
        logger.info("authorization request pushed", metadata: ["client_id": "\(client.clientID)", "signed": "\(checked.signed)"])
        return PushedAuthorizationResponse(requestURI: handle, expiresIn: lifetime)
    }
}

extension AuthorizationRequest {
    /// What a pushed request stores: the checked request without what belongs to the `/authorize` that takes it.
    func storedJSON() throws -> String {
        var stored = self
        stored.nonce = nil
        stored.sourceAddress = nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(stored), as: UTF8.self)
    }

    /// A pushed request as ``storedJSON()`` wrote it; nil if it cannot be read (written by another version).
    init?(storedJSON text: String) {
        guard let request = try? JSONDecoder().decode(AuthorizationRequest.self, from: Data(text.utf8)) else { return nil }
        self = request
    }
}

/// RFC 9126 §4: `request_uri` names a request pushed to `/par` by the request's client; `/authorize` takes it (single use
/// across every instance on the database, also when it has expired or names another client) and only its parameters
/// count. This server fetches no request objects from URLs, so other `request_uri`s are refused, and so is one inside a
/// request being pushed (§2.1).
struct PushedRequestResolved: AuthorizeCheck {
    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        guard let handle = context.request.requestURI else { return }
        if context.pushing { throw context.refusal("request_uri may not be part of a pushed authorization request") }
        if context.request.requestObject != nil { throw context.refusal("Send either request or request_uri, not both.") }
        guard handle.hasPrefix(AuthorizationServer.requestURIPrefix) else {
            throw context.refusal("The request_uri was not issued by this server's /par (request objects are not fetched from URLs).",
                                  error: "invalid_request_uri")
        }
        let gone = context.refusal(kind: .expired,
                                   "The request_uri is unknown, used already or expired. Please start again from the service that sent you here.",
                                   error: "invalid_request_uri")
        guard let stored = try await environment.store.takePushedRequest(handleHash: Secrets.sha256(handle)),
              stored.expiresAt > context.now else { throw gone }
        guard stored.clientID == context.request.clientID else {
            throw context.refusal("The request_uri was pushed by another client than client_id names.", error: "invalid_request_uri")
        }
        guard var request = AuthorizationRequest(storedJSON: stored.parameters) else { throw gone }
        request.nonce = context.request.nonce
        request.sourceAddress = context.request.sourceAddress
        request.pushed = true
        context.request = request
    }
}

/// RFC 9126 §5: a client registered with `REQUIRE_PUSHED_AUTHORIZATION_REQUESTS` (or `PROFILE = fapi2`), or every client
/// when the gateway sets it, must push its authorization requests: one without a `request_uri` is refused, with a
/// `/setup` nonce too.
struct PushedRequestRequired: AuthorizeCheck {
    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        guard !context.request.pushed, let client = context.client,
              environment.requirePushedRequests || client.requiresPushedAuthorizationRequests else { return }
        throw context.refusal("This client must push its authorization requests to /par and send only client_id and request_uri here.")
    }
}
