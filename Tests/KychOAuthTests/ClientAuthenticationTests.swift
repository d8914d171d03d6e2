import Foundation
import KychCore
import KychOAuth
import Testing

/// Client authentication: one component, methods as strategies, the header parsers in one place.
@Suite struct ClientAuthenticationTests {
    static let secret = "secret-token:one-two-three-four-five-six-seven"

    func authenticator(_ clients: [Client], checks: Counter = Counter()) async throws -> ClientAuthenticator {
        let store = InMemoryStore()
        for client in clients { try await store.createClient(client) }
        return ClientAuthenticator(clients: store) { secret, hash in
            await checks.increment()
            return Secrets.verifySecret(secret, hash: hash)
        }
    }

    actor Counter {
        var value = 0
        func increment() { value += 1 }
    }

    func client(_ secret: String? = Self.secret) -> Client {
        Client(clientID: "c", secretHash: secret.map(Secrets.hashSecret), verifierURL: "https://v.example", redirectURI: "https://r.example/cb")
    }

    @Test func headerParsing() {
        let basic = ClientAuthenticationRequest(authorization: "basic " + Data("a%3Ab:s%20t+x".utf8).base64EncodedString())
        #expect(basic.basicCredentials?.clientID == "a:b" && basic.basicCredentials?.secret == "s t x")
        #expect(ClientAuthenticationRequest(authorization: "Basic !!!").basicCredentials == nil)
        #expect(ClientAuthenticationRequest(authorization: "Basic " + Data("nocolon".utf8).base64EncodedString()).basicCredentials == nil)
        #expect(ClientAuthenticationRequest(authorization: "Bearer  secret-token:x ").bearerCredential == "secret-token:x")
        #expect(ClientAuthenticationRequest(authorization: "Bearer").bearerCredential == nil)
        #expect(ClientAuthenticationRequest(authorization: nil).bearerCredential == nil)
    }

    @Test func eachMethodFindsItsOwnCredentials() async throws {
        let auth = try await authenticator([client()])
        let methods: [any ClientAuthenticationMethod] = [ClientSecretBasic(), ClientSecretPost()]
        let post = ClientAuthenticationRequest(authorization: nil, form: ["client_id": "c", "client_secret": Self.secret])
        #expect(try await auth.authenticate(post, methods: methods).clientID == "c")
        let basic = ClientAuthenticationRequest(authorization: "Basic " + Data("c:\(Self.secret)".utf8).base64EncodedString(), form: ["client_id": "c"])
        #expect(try await auth.authenticate(basic, methods: methods).clientID == "c")
        let mismatch = ClientAuthenticationRequest(authorization: basic.authorization, form: ["client_id": "d"])
        await #expect(throws: FlowError.invalidRequest("client_id does not match the credentials")) {
            try await auth.authenticate(mismatch, methods: methods)
        }
        // A method an endpoint does not accept is not used.
        await #expect(throws: FlowError.self) { try await auth.authenticate(post, methods: [ClientSecretBasic()]) }
        let bearer = ClientAuthenticationRequest(pathClientID: "c", authorization: "Bearer \(Self.secret)")
        #expect(try await auth.authenticate(bearer, methods: [BearerSecretAuthentication()]).clientID == "c")
    }

    @Test func cachesOnlyWhatWasVerified() async throws {
        let checks = Counter()
        let auth = try await authenticator([], checks: checks)
        var c = client("secret-token:one")
        #expect(await auth.matches(c, secret: "secret-token:one"))
        #expect(await auth.matches(c, secret: "secret-token:one"))   // from the cache
        #expect(await checks.value == 1)
        #expect(!(await auth.matches(c, secret: "secret-token:two")))
        c.secretHash = Secrets.hashSecret("secret-token:two")        // the secret changed
        #expect(!(await auth.matches(c, secret: "secret-token:one")))
        #expect(await auth.matches(c, secret: "secret-token:two"))
        c.secretHash = nil
        #expect(!(await auth.matches(c, secret: "secret-token:two")))  // public clients have no secret
    }
}
