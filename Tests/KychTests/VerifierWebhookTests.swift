import Foundation
import KychCore
import KychOAuth
import KychVerifierModel
import KychWallet
import Testing

/// The verifier's webhook: the swiyu payload and API-key header, retries from the durable outbox
/// until the callback accepts, and nothing lost when the verifier restarts in between.
@Suite struct VerifierWebhookTests {
    /// Waits until `condition` holds, for at most `seconds`.
    static func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    @Test func resultsAreNotifiedAndRetriedUntilAccepted() async throws {
        let receiver = try await LoopbackServer()
        defer { receiver.stop() }
        receiver.answerPosts(with: 500)
        let verifier = try await StandaloneVerifier.start(webhook: receiver)
        try verifier.wallet.issue()
        let created = try await verifier.createVerification()
        let id = try #require(created["id"]?.stringValue)
        // Creating a verification is no event.
        try await Task.sleep(for: .milliseconds(200))
        #expect(receiver.posts.isEmpty)

        let request = try await PresentationRequest.fetch(try #require(created["verification_url"]?.stringValue))
        #expect(try await verifier.wallet.present(request).status == 200)
        #expect(try await Self.eventually { receiver.posts.count >= 2 })   // refused, and retried
        receiver.answerPosts(with: 204)
        #expect(try await Self.eventually {
            try await verifier.db.strings("SELECT count(*)::text FROM verifier.webhook_events") == ["0"]
        })
        let post = try #require(receiver.posts.last)
        #expect(post.path == "/notification")
        #expect(post.headers["x-api-key"] == VerifierTestConfig.webhookKey && post.headers["content-type"] == "application/json")
        let body = try JSON.parse(Data(post.body.utf8))
        #expect(body["verification_id"]?.stringValue == id)
        let timestamp = try #require(body["timestamp"]?.stringValue)
        #expect(timestamp.hasSuffix("Z") && (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(timestamp)) != nil)
        #expect(Set(receiver.posts.map(\.body)).count == 1)   // the same event each time

        // A late answer is refused with 410 but still notified, as swiyu does.
        let count = receiver.posts.count
        #expect(try await verifier.wallet.present(request).status == 410)
        #expect(try await Self.eventually { receiver.posts.count == count + 1 })
        await verifier.stop()
    }

    @Test func aVerifierRestartBetweenTheAnswerAndTheWebhookLosesNothing() async throws {
        let receiver = try await LoopbackServer()
        defer { receiver.stop() }
        receiver.answerPosts(with: 503)
        let db = try await TestDatabase.create(installSchema: false)
        let directory = try VerifierTestConfig.temporaryDirectory()
        let port = TestPorts.next()
        let config = try temporaryFile(VerifierTestConfig.section(
            port: port, database: db.connectionString, keyFile: directory.appendingPathComponent("verifier.pem").path,
            webhook: receiver.baseURL + "/notification"))
        let walletDir = directory.appendingPathComponent("wallet").path
        #expect(try await Run.program("kych-dbinit", ["-c", config]).stdout.contains("Applied: verifier-0001"))
        #expect(try await Run.program("kych-wallet", ["issue", "--wallet", walletDir]).status == 0)
        let issuer = try await Run.program("kych-wallet", ["issuer-did", "--wallet", walletDir]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let baseURL = "http://127.0.0.1:\(port)"

        let first = try await GatewayProcess(configPath: config, baseURL: baseURL, executable: "kych-verifier")
        let body = """
            {"accepted_issuer_dids":["\(issuer)"],"response_mode":"direct_post.jwt","dcql_query":{"credentials":[{"id":"kych",
            "format":"dc+sd-jwt","meta":{"vct_values":["betaid-sdjwt"]},"claims":[{"path":["family_name"]}]}]}}
            """
        let created = try await HTTP.post(baseURL + "/management/api/verifications", headers: [("Content-Type", "application/json")], body: body)
        let id = try #require(created.json["id"]?.stringValue)
        let present = try await Run.program("kych-wallet", ["present", "--wallet", walletDir, try #require(created.json["verification_deeplink"]?.stringValue)])
        #expect(present.status == 0, "\(present.stderr)")
        #expect(try await Self.eventually { !receiver.posts.isEmpty })   // tried, refused
        #expect(await first.terminate() == 0)
        #expect(try await db.strings("SELECT verification_id FROM verifier.webhook_events") == [id])

        receiver.answerPosts(with: 200)
        let refused = receiver.posts.count
        let second = try await GatewayProcess(configPath: config, baseURL: baseURL, executable: "kych-verifier")
        #expect(try await Self.eventually {
            try await db.strings("SELECT count(*)::text FROM verifier.webhook_events") == ["0"]
        })
        #expect(receiver.posts.count == refused + 1)
        #expect(receiver.posts.allSatisfy { (try? JSON.parse(Data($0.body.utf8)))?["verification_id"]?.stringValue == id })
        // Same key file, same result after the restart.
        let result = try await HTTP.get(baseURL + "/management/api/verifications/" + id)
        #expect(result.json["state"] == "SUCCESS")
        #expect(result.json["wallet_response"]?["credential_subject_data"]?["kych"]?.arrayValue?.first?["family_name"] == "National")
        #expect(await second.terminate() == 0)
        #expect(!first.log.contains("National") && !second.log.contains(VerifierTestConfig.webhookKey))
    }
}
