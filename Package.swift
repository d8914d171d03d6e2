// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "kych",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kych-oauth2-gateway", targets: ["kych-oauth2-gateway"]),
        .executable(name: "kych-client-management", targets: ["kych-client-management"]),
        .executable(name: "kych-dbinit", targets: ["kych-dbinit"]),
        .executable(name: "kych-verifier", targets: ["kych-verifier"]),
        .executable(name: "kych-wallet", targets: ["kych-wallet"]),
        .executable(name: "kych-demo", targets: ["kych-demo"]),
        .executable(name: "kych-bench", targets: ["kych-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
    ],
    targets: [
        // Foundations: the INI configuration and its validation rules, secrets, escaping, form encoding, the
        // redacting log handler. No networking.
        .target(
            name: "KychCore",
            dependencies: [
                "KychSDJWT",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ]
        ),
        // The authorization server's domain, pure (no NIO, HTTP client or framework types): clients and their
        // authentication methods, the ordered authorize checks, the token endpoint's grant handlers, the session
        // state machine, the store and verifier ports, and an in-memory store.
        .target(
            name: "KychOAuth",
            dependencies: [
                "KychCore",
                "KychSDJWT",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                // Checks the signatures of what clients sign (DPoP proofs, client assertions, request objects) with
                // the keys they registered or sent: a maintained JOSE library for untrusted input.
                .product(name: "JWTKit", package: "jwt-kit"),
            ]
        ),
        // The one outbound HTTP policy (no redirects, short timeouts, capped replies, https or loopback http)
        // for the swiyu client, DID and status-list resolution, webhooks and the wallet.
        .target(
            name: "KychOutboundHTTP",
            dependencies: [
                "KychCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        // Adapter: the swiyu Verifier management API client behind KychOAuth's VerifierPort.
        .target(
            name: "KychSwiyuClient",
            dependencies: [
                "KychCore", "KychOAuth", "KychOutboundHTTP",
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // JOSE, did:jwk, SD-JWT VC issuance/presentation/verification, token status lists.
        .target(
            name: "KychSDJWT",
            dependencies: ["CZlib", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The system's zlib (Debian: zlib1g-dev), for DEFLATE in status lists and JWE.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // QR code encoder (byte mode, versions 1-40, SVG output).
        .target(name: "KychQR"),
        // PostgreSQL implementation of the store protocols (the gateway's and the built-in verifier's), and the
        // schema installer.
        .target(
            name: "KychPostgres",
            dependencies: [
                "KychCore",
                "KychOAuth",
                "KychVerifierModel",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // ConnectionPoolError: the pool's circuit breaker tripped (the database down for a minute).
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // SQLite implementation of the store protocols (the gateway's and the built-in verifier's): the embedded default.
        .target(
            name: "KychSQLite",
            dependencies: [
                "KychCore",
                "KychOAuth",
                "KychVerifierModel",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Opens the configured store (PostgreSQL or SQLite) behind the store protocols.
        .target(
            name: "KychStorage",
            dependencies: [
                "KychCore",
                "KychOAuth",
                "KychPostgres",
                "KychSQLite",
                "KychVerifierModel",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Hummingbird glue the gateway and the verifier servers share: binding and start-up, /health, /openapi.json,
        // /metrics on its own listener, request ids and request metrics, JSON answers, bearer credentials, periodic
        // background work.
        .target(
            name: "KychHTTP",
            dependencies: [
                "KychCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // The OpenAPI document, compiled into the binaries: an installed server needs no resource bundle beside it.
            resources: [.embedInCode("openapi.json")]
        ),
        // The Hummingbird HTTP layer: routes, request context, error mapping. Links no test wallet: the demo
        // wallet's routes live in kych-demo, which adds them through buildApplication's extraRoutes.
        .target(
            name: "KychGateway",
            dependencies: [
                "KychCore",
                "KychOAuth",
                "KychHTTP",
                "KychOutboundHTTP",
                "KychSwiyuClient",
                .product(name: "NIOPosix", package: "swift-nio"),
                "KychStorage",
                "KychQR",
                // The vp_token-bearer grant resolves issuer keys and status lists as the built-in verifier does.
                "KychVerifier",
                "KychVerifierServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        .executableTarget(
            name: "kych-oauth2-gateway",
            dependencies: ["KychGateway", "KychStorage", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "kych-client-management",
            dependencies: ["KychCore", "KychOAuth", "KychStorage", "KychPostgres", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .executableTarget(
            name: "kych-dbinit",
            dependencies: ["KychCore", "KychOAuth", "KychStorage", "KychPostgres", "KychSQLite", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // What the built-in verifier stores: verifications, their DCQL queries and outcomes, the
        // VerificationStore protocol and its webhook outbox. No networking, no database: the storage
        // targets implement it without depending on the verifier's service.
        .target(
            name: "KychVerifierModel",
            dependencies: ["KychCore", "KychSDJWT", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The built-in swiyu-compatible OpenID4VP verifier: request objects, presentation checks, DID and
        // status-list resolution, webhook delivery. Works on any VerificationStore (KychStorage opens one).
        .target(
            name: "KychVerifier",
            dependencies: [
                "KychCore",
                "KychOutboundHTTP",
                "KychSDJWT",
                "KychVerifierModel",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The verifier's Hummingbird routes and application (standalone or inside the gateway).
        .target(
            name: "KychVerifierServer",
            dependencies: [
                "KychCore",
                "KychHTTP",
                "KychSDJWT",
                "KychStorage",
                "KychVerifier",
                "KychVerifierModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        // A test wallet and Beta-ID-like issuer (used by kych-wallet, the tests and the demo).
        .target(
            name: "KychWallet",
            dependencies: ["KychSDJWT", "KychVerifier", "KychVerifierModel", "KychOutboundHTTP", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .executableTarget(
            name: "kych-verifier",
            dependencies: ["KychVerifierServer", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "kych-wallet",
            dependencies: ["KychVerifierModel", "KychWallet", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The one-command demo: gateway on SQLite, embedded verifier, demo client site, demo wallet (the only
        // executable serving DEMO_WALLET).
        .executableTarget(
            name: "kych-demo",
            dependencies: [
                "KychCore",
                "KychOAuth",
                "KychGateway",
                "KychStorage",
                "KychVerifierModel",
                "KychWallet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The load generator of scripts/bench: clients, browsers and wallets (KychWallet's cryptography) over HTTP.
        .executableTarget(
            name: "kych-bench",
            dependencies: [
                "KychCore",
                "KychSDJWT",
                "KychVerifierModel",
                "KychWallet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Unit tests of the flow logic: in-memory stores and a scripted verifier, no database, no processes.
        .testTarget(
            name: "KychOAuthTests",
            dependencies: [
                "KychCore", "KychOAuth", "KychSDJWT",
                // Test keys and signatures made by swift-crypto directly, not by KyCH's own JOSE code.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "KychTests",
            dependencies: [
                "KychCore",
                "KychOAuth",
                "KychOutboundHTTP",
                "KychSwiyuClient",
                "KychPostgres",
                "KychSQLite",
                "KychStorage",
                "KychGateway",
                "KychQR",
                "KychSDJWT",
                "KychVerifier",
                "KychVerifierModel",
                "KychVerifierServer",
                "KychWallet",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets (`scripts/fuzz`), one executable per parser of untrusted input, in Sources/Fuzz/<directory>/.
// The normal build links them as replayers of inputs (`Tests/Fuzz/`); each links only light modules (no NIO), so
// the sanitizer build stays quick.
let fuzzTargets: [(name: String, directory: String, dependencies: [Target.Dependency])] = [
    ("ini", "INI", ["KychCore"]),
    ("form", "Form", ["KychCore"]),
    ("json", "JSON", ["KychSDJWT"]),
    ("sdjwt", "SDJWT", ["KychSDJWT"]),
    ("jwe", "JWE", ["KychSDJWT"]),
    ("deflate", "Deflate", ["KychSDJWT"]),
    ("statuslist", "StatusList", ["KychSDJWT"]),
    ("dcql", "DCQL", ["KychSDJWT", "KychVerifierModel"]),
    ("wallet-response", "WalletResponse", ["KychCore", "KychSDJWT", "KychVerifierModel"]),
    ("request-object", "RequestObject", ["KychCore", "KychSDJWT", "KychVerifierModel"]),
    ("client-jwt", "ClientJWT", ["KychCore", "KychSDJWT", "KychOAuth"]),
]
package.targets.append(.target(
    name: "KychFuzzSupport",
    dependencies: ["KychSDJWT", .product(name: "Crypto", package: "swift-crypto")],
    path: "Sources/Fuzz/Support"
))
for fuzz in fuzzTargets {
    package.targets.append(.executableTarget(
        name: "kych-fuzz-\(fuzz.name)",
        dependencies: ["KychFuzzSupport", .product(name: "Crypto", package: "swift-crypto")] + fuzz.dependencies,
        path: "Sources/Fuzz/\(fuzz.directory)"
    ))
    package.products.append(.executable(name: "kych-fuzz-\(fuzz.name)", targets: ["kych-fuzz-\(fuzz.name)"]))
}
