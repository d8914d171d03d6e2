import Foundation
import KychCore
import KychOAuth
import Testing

/// Privacy: verified claims are erased as they are delivered (`/info`, `/userinfo`, an ID token carrying them), or
/// after `CLAIMS_RETENTION_MINUTES`, and at the latest once no code or token can reach them.
@Suite struct ClaimsRetentionTests {
    static let gone = FlowError.invalidToken(
        "the claims of this token were already delivered or have passed their retention (CLAIMS_RETENTION_MINUTES)")
    static let openIDConfig = "BASE_URL = https://kych.example.com\nVC_CLAIMS = {given_name, family_name, age_over_18, personal_administrative_number}"

    func token(_ f: FlowFixture, scope: String? = nil) async throws -> TokenResponse {
        try await f.token(code: try FlowFixture.code(in: try await f.runToFinalize(scope: scope)))
    }

    @Test func infoDeliversTheClaimsOnce() async throws {
        let f = try await FlowFixture()
        let token = try await token(f)
        #expect(try await f.server.info(.bearer(token.access_token)).claims == FlowFixture.credential.claims)
        #expect(await flowError { try await f.server.info(.bearer(token.access_token)) } == Self.gone)
        // The session keeps what auditing needs, not the claims.
        let session = try #require(try await f.store.session(serial: 1))
        #expect(session.claims == [:] && session.status == .completed && session.credentialVCT == "betaid-sdjwt"
                && session.credentialIssuer == "did:example:issuer")
    }

    @Test func concurrentReadsDeliverTheClaimsOnce() async throws {
        let f = try await FlowFixture()
        let token = try await token(f)
        let delivered = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 { group.addTask { (try? await f.server.info(.bearer(token.access_token))) != nil } }
            return await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(delivered == 1)
    }

    @Test func aRetentionKeepsThemForItsMinutesThenThePurgeErasesThem() async throws {
        let f = try await FlowFixture(extraConfig: "CLAIMS_RETENTION_MINUTES = 10")
        let token = try await token(f)
        #expect(try await f.server.info(.bearer(token.access_token)).claims["given_name"] == "Helvetia")
        #expect(try await f.server.info(.bearer(token.access_token)).claims["given_name"] == "Helvetia")
        #expect(try await f.server.purge(retention: 86_400).erasedClaims == 0)
        f.clock.advance(600)
        #expect(await flowError { try await f.server.info(.bearer(token.access_token)) } == Self.gone)
        #expect(try await f.server.purge(retention: 86_400).erasedClaims == 1)
        #expect(try await f.store.session(serial: 1)?.claims == [:])
    }

    @Test func claimsNeverReadAreErasedWhenNoTokenCanReachThem() async throws {
        let f = try await FlowFixture()
        _ = try await token(f)
        f.clock.advance(3599)
        #expect(try await f.server.purge(retention: 86_400).erasedClaims == 0)   // the token still lives
        f.clock.advance(1)
        #expect(try await f.server.purge(retention: 86_400).erasedClaims == 1)
        // A verified session whose code was never redeemed: erased when the code and the session have expired.
        _ = try await f.runToFinalize()
        f.clock.advance(899)
        #expect(try await f.server.purge(retention: 86_400).erasedClaims == 0)
        f.clock.advance(1)
        #expect(try await f.server.purge(retention: 86_400).erasedClaims == 1)
    }

    @Test func userInfoDeliversThemOnceToo() async throws {
        let f = try await FlowFixture(extraConfig: Self.openIDConfig, openID: true)
        #expect(f.server.openID != nil)
        let token = try await token(f, scope: "openid given_name")
        #expect(try await f.server.userInfo(.bearer(token.access_token))["given_name"] == "Helvetia")
        #expect(await flowError { try await f.server.userInfo(.bearer(token.access_token)) } == Self.gone)
        #expect(await flowError { try await f.server.info(.bearer(token.access_token)) } == Self.gone)
    }

    @Test func anIDTokenCarryingThemDeliversThemAndUserInfoKeepsItsSub() async throws {
        let f = try await FlowFixture(extraConfig: Self.openIDConfig, clientSettings: "ID_TOKEN_CLAIMS = yes", openID: true)
        let ahv = "756.1234.5678.97"
        let credential = VerifiedCredential(claims: ["given_name": "Helvetia", "personal_administrative_number": .string(ahv)],
                                            vct: "betaid-sdjwt", issuer: "did:example:issuer")
        let location = try await f.runToFinalize(.success(credential), scope: "openid given_name personal_administrative_number")
        let response = try await f.token(code: try FlowFixture.code(in: location))
        let idToken = try OpenIDConnectTests.decode(try #require(response.id_token)).payload
        #expect(idToken["given_name"] == "Helvetia" && idToken["personal_administrative_number"]?.stringValue == ahv)
        // The claims went out in the ID token: /userinfo answers its sub (derived from the AHV number) and nothing else.
        #expect(f.server.openID != nil)
        #expect(try await f.server.userInfo(.bearer(response.access_token)) == .object(["sub": try #require(idToken["sub"])]))
        #expect(await flowError { try await f.server.info(.bearer(response.access_token)) } == Self.gone)
    }
}
