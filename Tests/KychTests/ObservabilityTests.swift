import Foundation
import KychCore
import KychPostgres
import Testing

/// Issue 14 (metrics, health, logs): the operator's view of a running gateway and verifier. `/metrics` on a listener of
/// its own counts a whole flow without a claim or secret in any label; JSON log lines carry each request's id, which is
/// echoed and put in error bodies.
@Suite struct ObservabilityTests {
    /// The gateway and the standalone verifier as processes on one PostgreSQL database (as in ``EndToEndTests``), each
    /// with a metrics listener and JSON logs: a verified flow and a declined one, then both are scraped.
    @Test func metricsCountAWholeFlowAndNoLabelCarriesAClaimOrSecret() async throws {
        let db = try await TestDatabase.create(installSchema: false)
        let directory = try VerifierTestConfig.temporaryDirectory()
        let walletCommand = try await WalletCommand(in: directory)
        let issuer = walletCommand.issuerDID

        let gatewayPort = TestPorts.next(), verifierPort = TestPorts.next()
        let gatewayMetrics = TestPorts.next(), verifierMetrics = TestPorts.next()
        let gatewaySections = VerifierTestConfig.gatewaySections(
            port: gatewayPort, database: db.connectionString, verifierURL: "http://127.0.0.1:\(verifierPort)", acceptedIssuers: [issuer])
            .replacingOccurrences(of: "[kych-oauth2-gateway]\n", with: """
                [kych-oauth2-gateway]
                METRICS_HOST = 127.0.0.1
                METRICS_PORT = \(gatewayMetrics)
                LOG_FORMAT = json

                """)
        let config = try temporaryFile(gatewaySections + "\n" + VerifierTestConfig.section(
            port: verifierPort, database: db.connectionString, keyFile: directory.appendingPathComponent("verifier.pem").path,
            webhook: "http://127.0.0.1:\(gatewayPort)/notification",
            extra: "METRICS_HOST = 127.0.0.1\nMETRICS_PORT = \(verifierMetrics)\nLOG_FORMAT = json"))
        #expect(try await Run.program("kych-dbinit", ["-c", config]).status == 0)
        #expect(try await Run.program("kych-client-management", ["-c", config, "sync"]).status == 0)
        let verifier = try await GatewayProcess(configPath: config, baseURL: "http://127.0.0.1:\(verifierPort)", executable: "kych-verifier")
        let gateway = try await GatewayProcess(configPath: config, baseURL: "http://127.0.0.1:\(gatewayPort)")
        let browser = GatewayBrowser(baseURL: gateway.baseURL)

        let verified = try await browser.start()
        await #expect(try walletCommand(["present", verified.deeplink]).status == 0)
        #expect(try await browser.status(verified) == "verified")
        let code = try #require(try await browser.finalize(verified)["code"])
        let info = try await browser.info(code: code)
        #expect(info.status == 200)
        let declined = try await browser.start()
        await #expect(try walletCommand(["present", declined.deeplink, "--decline"]).status == 0)
        #expect(try await browser.status(declined) == "failed")
        // The code again: a replay.
        let form = "grant_type=authorization_code&code=\(code.urlEscaped)&client_id=\(GatewayBrowser.clientID)"
            + "&client_secret=\(GatewayBrowser.secret.urlEscaped)&redirect_uri=\(GatewayBrowser.redirect.urlEscaped)"
        let replay = try await HTTP.post(gateway.baseURL + "/token", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: form)
        #expect(replay.status == 400)
        // Webhook deliveries are counted once they are done: wait for the verifier's second one.
        for _ in 0..<50 where verifier.log.components(separatedBy: "webhook delivered").count < 3 {
            try await Task.sleep(for: .milliseconds(100))
        }

        let gatewayScrape = try await HTTP.get("http://127.0.0.1:\(gatewayMetrics)/metrics")
        let verifierScrape = try await HTTP.get("http://127.0.0.1:\(verifierMetrics)/metrics")
        #expect(gatewayScrape.status == 200 && gatewayScrape.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(verifierScrape.status == 200)
        let g = Exposition(gatewayScrape.body), v = Exposition(verifierScrape.body)
        let client = #"client_id="\#(GatewayBrowser.clientID)""#
        #expect(g.value("kych_flows_started_total", client) == 2, "\(gatewayScrape.body)")
        #expect(g.value("kych_flows_verified_total", client) == 1)
        #expect(g.value("kych_flows_failed_total", client) == 1)
        #expect(g.value("kych_codes_issued_total", client) == 1)
        #expect(g.value("kych_codes_redeemed_total", client) == 1)
        #expect(g.value("kych_tokens_issued_total", client) == 1)
        #expect(g.value("kych_codes_replayed_total", client) == 1)
        #expect(g.value("kych_http_requests_total", #"route="/setup/{client_id}""#, #"status="200""#) == 2)
        #expect(g.value("kych_http_requests_total", #"route="/token""#, #"status="400""#) == 1)
        #expect(g.value("kych_http_request_duration_seconds_count", #"route="/info""#) == 1)
        #expect((g.value("kych_verifier_calls_total", #"call="create""#, #"outcome="ok""#) ?? 0) == 2)
        #expect((g.value("kych_verifier_calls_total", #"call="result""#, #"outcome="ok""#) ?? 0) >= 2)
        #expect((g.value("kych_db_pool_wait_seconds_count") ?? 0) > 0)
        #expect(g.value("kych_http_requests_in_flight", #"route="/status/{verification_id}""#) == 0)
        #expect(v.value("kych_verifier_presentations_total", #"result="accepted""#) == 2, "\(verifierScrape.body)")
        #expect(v.value("kych_webhook_deliveries_total", #"outcome="delivered""#) == 2)
        // Counted at the start (nothing waiting yet): the gauge is there for alerts from the first scrape.
        #expect(v.value("kych_verifier_outbox_backlog") == 0)
        #expect(v.value("kych_http_requests_total", #"route="/management/api/verifications""#, #"method="POST""#) == 2)

        // No claim, secret, key, id or raw path in a label.
        let forbidden = ["Helvetia", "National", "1848-09-12", GatewayBrowser.secret, VerifierTestConfig.webhookKey, code,
                         verified.verificationID, declined.verificationID, "secret-token"]
        for label in g.labelValues + v.labelValues {
            for value in forbidden { #expect(!label.contains(value), "a label carries \(value): \(label)") }
        }
        // Not on the public listeners.
        #expect(try await HTTP.get(gateway.baseURL + "/metrics").status == 404)
        #expect(try await HTTP.get(verifier.baseURL + "/metrics").status == 404)
        #expect(await gateway.terminate() == 0)
        #expect(await verifier.terminate() == 0)

        // Every line is one JSON object; those of requests carry their id; nothing secret or personal.
        for process in [gateway, verifier] {
            let lines = process.log.split(separator: "\n")
            #expect(!lines.isEmpty)
            for line in lines {
                let object = try? JSON.parse(Data(line.utf8))
                #expect(object?["message"]?.stringValue != nil && object?["level"]?.stringValue != nil, "not a JSON log line: \(line)")
                for value in forbidden.prefix(5) { #expect(!line.contains(value), "the log carries \(value): \(line)") }
            }
        }
        let requestLines = gateway.log.split(separator: "\n").compactMap { try? JSON.parse(Data($0.utf8)) }
            .filter { $0["message"]?.stringValue == "authorization code issued" }
        #expect(requestLines.count == 1 && requestLines.allSatisfy { ($0["request_id"]?.stringValue?.count ?? 0) >= 16 }, "\(requestLines)")
    }

    /// An `X-Request-Id` of safe characters is taken, echoed and written into the error body and the request's log
    /// lines; one too long is replaced by one made here (line breaks and other characters: ``hostileRequestIdsAreReplaced``).
    @Test func aRequestIdIsEchoedLoggedAndInErrorBodiesAndAHostileOneIsReplaced() async throws {
        let port = TestPorts.next()
        let directory = try VerifierTestConfig.temporaryDirectory()
        let gateway = try await GatewayProcess(configPath: try temporaryFile("""
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = \(port)
            DATABASE = sqlite://\(directory.appendingPathComponent("kych.db").path)
            LOG_FORMAT = json
            """), baseURL: "http://127.0.0.1:\(port)")
        let wrongSecret = ("Authorization", "Bearer secret-token:wrong-0123456789abcdefghijklmnop")
        let named = try await HTTP.post(gateway.baseURL + "/setup/nobody", headers: [wrongSecret, ("X-Request-Id", "lb-7f3a:42")], body: "")
        #expect(named.status == 401 && named.headers["x-request-id"] == "lb-7f3a:42")
        #expect(named.headers["content-type"] == "application/json")
        #expect(named.json["error"] == "invalid_client" && named.json["error_description"]?.stringValue?.isEmpty == false)
        #expect(named.json["request_id"] == "lb-7f3a:42", "\(named.body)")

        let long = String(repeating: "a", count: 200)
        let tooLong = try await HTTP.post(gateway.baseURL + "/setup/nobody", headers: [wrongSecret, ("X-Request-Id", long)], body: "")
        let replaced = try #require(tooLong.headers["x-request-id"])
        #expect(replaced != long && replaced.count == 16 && tooLong.json["request_id"]?.stringValue == replaced, "\(tooLong.body)")
        let unnamed = try await HTTP.get(gateway.baseURL + "/health/live")
        #expect(unnamed.status == 200 && unnamed.json == ["status": "ok"] && unnamed.headers["x-request-id"]?.count == 16)
        #expect(await gateway.terminate() == 0)

        let refused = gateway.log.split(separator: "\n").compactMap { try? JSON.parse(Data($0.utf8)) }
            .filter { $0["message"]?.stringValue == "client authentication failed" }
        #expect(refused.map { $0["request_id"]?.stringValue } == ["lb-7f3a:42", replaced], "\(gateway.log)")
        #expect(!gateway.log.contains(long))
    }

    @Test func metricsListenerAndLogFormatSettings() throws {
        func load(_ lines: String) throws -> GatewayConfig {
            try GatewayConfig.validate(try IniFile.parse("""
                [kych-oauth2-gateway]
                HOST = 127.0.0.1
                PORT = 8080
                DATABASE = sqlite:///var/lib/kych/kych.db
                \(lines)
                """, path: "/etc/kych/kych.conf", environment: [:]))
        }
        func error(_ lines: String) -> String {
            do { _ = try load(lines) } catch { return "\(error)" }
            return ""
        }
        let plain = try load("")
        #expect(plain.metricsBinding == nil && plain.logFormat == .text)
        let tcp = try load("METRICS_HOST = 127.0.0.1\nMETRICS_PORT = 9464\nLOG_FORMAT = JSON")
        #expect(tcp.metricsBinding == .tcp(host: "127.0.0.1", port: 9464) && tcp.logFormat == .json && tcp.warnings.isEmpty)
        let unix = try load("METRICS_UNIXPATH = /run/kych/metrics.sock\nMETRICS_UNIXPATH_MODE = 660")
        #expect(unix.metricsBinding == .unix(path: "/run/kych/metrics.sock", mode: 0o660))
        #expect(error("METRICS_HOST = 127.0.0.1\nMETRICS_PORT = 8080").contains("must differ"))
        #expect(error("METRICS_PORT = 9464").contains("METRICS_HOST is required with METRICS_PORT"))
        #expect(error("METRICS_HOST = 127.0.0.1\nMETRICS_PORT = 9464\nMETRICS_UNIXPATH = /run/m.sock").contains("choose one"))
        #expect(error("LOG_FORMAT = xml").contains("not a log format"))
    }

    @Test func hostileRequestIdsAreReplaced() {
        for safe in ["abc", "lb-7f3a:42", "0f8fad5b-d9cb-469f-a165-70867728950e", "a/b+c=d@e_f.g", String(repeating: "x", count: 128)] {
            #expect(RequestID.accept(safe) == safe)
        }
        for hostile in [nil, "", "a\nb", "a\r\nX-Injected: 1", "a b", "a\"b", "ä", String(repeating: "x", count: 129), "{\"x\":1}"] {
            let made = RequestID.accept(hostile)
            #expect(made != hostile && made.count == 16 && RequestID.accept(made) == made, "\(hostile ?? "nil") → \(made)")
        }
    }
}

/// A Prometheus text exposition, read by sample.
struct Exposition {
    /// (name, labels text, value) of each sample line.
    let samples: [(name: String, labels: String, value: Double)]

    init(_ text: String) {
        samples = text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return (String(series), "", value) }
            return (String(series[..<brace]), String(series[brace...]), value)
        }
    }

    /// The sum of the samples named `name` whose labels contain each of `labels` (`key="value"`); nil when none.
    func value(_ name: String, _ labels: String...) -> Double? {
        let matching = samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels.contains($0) } }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }

    /// Every label value of every sample.
    var labelValues: [String] {
        samples.flatMap { sample in
            sample.labels.split(separator: ",").compactMap { pair in
                pair.split(separator: "=", maxSplits: 1).last.map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "{}\"")) }
            }
        }
    }
}
