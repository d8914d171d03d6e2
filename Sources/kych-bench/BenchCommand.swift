import ArgumentParser
import AsyncHTTPClient
import Foundation
import KychWallet

/// `kych-bench`: the load generator of `scripts/bench`. It drives a running gateway (with its embedded verifier)
/// over HTTP as clients, browsers and wallets would, and prints one line of figures per run. The wallet's
/// cryptography (request object check, KB-JWT, JWE) runs here, outside the measured server; the credential
/// is issued by `prepare`, before any measurement.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kych-bench",
        abstract: "Load generator for KyCH benchmarks (scripts/bench): complete flows, token, info, setup.",
        discussion: """
            Prints one line per run: ops errors seconds ops_per_s p50_ms p99_ms bench_cpu_ms_per_op (its own CPU, \
            to show it is not the bottleneck). Modes:
              prepare  issue the wallet's credential; print the issuer DID (for ACCEPTED_ISSUER_DIDS)
            flows, info and setup run for --seconds, or --count times.
              flows    complete flows: setup, authorize, wallet presentation, status, finalize, token, info
              codes    flows up to /finalize; writes the codes to --output (unmeasured; for `token`)
              token    redeems the codes in --input; writes the access tokens to --output
              info     GET /info with the tokens in --input, round robin, for --seconds
              setup    POST /setup/{client_id} for --seconds
            """)

    enum Mode: String, ExpressibleByArgument, CaseIterable { case prepare, flows, codes, token, info, setup }

    @Argument(help: "prepare, flows, codes, token, info or setup.") var mode: Mode
    @Option(help: "The wallet folder (keys and the Beta-ID credential).") var wallet: String
    @Option(help: "The gateway's base URL.") var gateway = "http://127.0.0.1:8080"
    @Option(help: "The client's id.") var clientID = "bench"
    @Option(help: "The client's secret.") var clientSecret = ""
    @Option(help: "The client's registered redirect URI.") var redirectURI = "https://client.example/cb"
    @Option(help: "The token endpoint's path (another server's, to compare).") var tokenPath = "/token"
    @Option(help: "The resource endpoint's path for info (another server's userinfo, to compare).") var infoPath = "/info"
    @Option(help: "Operations in flight at once.") var concurrency = 1
    @Option(help: "How long to run (flows, info, setup).") var seconds = 5.0
    @Option(help: "How many operations (codes; flows, info and setup: instead of --seconds).") var count: Int?
    @Option(help: "File of codes or tokens to read (token, info).") var input: String?
    @Option(help: "File to write codes or tokens to (codes, token).") var output: String?

    func validate() throws {
        guard concurrency >= 1, seconds > 0, (count ?? 1) >= 1 else { throw ValidationError("--concurrency, --seconds and --count must be positive") }
        if [.token, .info].contains(mode), input == nil { throw ValidationError("\(mode.rawValue) needs --input") }
        if [.codes, .token].contains(mode), output == nil { throw ValidationError("\(mode.rawValue) needs --output") }
        if mode == .codes, count == nil { throw ValidationError("codes needs --count") }
    }

    func run() async throws {
        let holder = try Wallet(directory: URL(fileURLWithPath: wallet))
        if mode == .prepare {
            if try holder.credentials().isEmpty { try holder.issue() }
            print(try holder.issuerDID())
            return
        }
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(30)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = concurrency + 4
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var client = BenchClient(http: http, gateway: gateway, clientID: clientID, clientSecret: clientSecret,
                                 redirectURI: redirectURI, wallet: holder)
        client.tokenPath = tokenPath
        client.infoPath = infoPath
        do {
            try await run(client)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    private func run(_ client: BenchClient) async throws {
        let load = Load(concurrency: concurrency)
        let outcome: Load.Outcome
        switch mode {
        case .prepare:
            return
        case .flows:
            outcome = try await load.run(times: count, seconds: duration) { _ in try await client.completeFlow(); return nil }
        case .setup:
            outcome = try await load.run(times: count, seconds: duration) { _ in _ = try await client.setup(); return nil }
        case .codes:
            outcome = try await load.run(times: count, seconds: duration) { _ in try await client.flowUntilCode() }
        case .token:
            let codes = try Self.lines(input!)
            outcome = try await load.run(times: codes.count) { index in try await client.token(code: codes[index]) }
        case .info:
            let tokens = try Self.lines(input!)
            guard !tokens.isEmpty else { throw ValidationError("\(input!) holds no tokens") }
            outcome = try await load.run(times: count, seconds: duration) { index in try await client.info(token: tokens[index % tokens.count]); return nil }
        }
        if let output { try Data(outcome.results.map { $0 + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: output)) }
        print(outcome.figures.line)
    }

    /// `--seconds`, unless `--count` bounds the run instead.
    private var duration: Double { count == nil ? seconds : .infinity }

    private static func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }
}
