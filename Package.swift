// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "kych",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kych-oauth2-gateway", targets: ["kych-oauth2-gateway"]),
        .executable(name: "kych-client-management", targets: ["kych-client-management"]),
        .executable(name: "kych-dbinit", targets: ["kych-dbinit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // Domain: configuration, models, store protocols, verifier client. No HTTP-framework types.
        .target(
            name: "KychCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // JOSE, did:jwk, SD-JWT VC issuance/presentation/verification, token status lists.
        .target(
            name: "KychSDJWT",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // QR code encoder (byte mode, versions 1-40, SVG output).
        .target(name: "KychQR"),
        // PostgreSQL implementation of the store protocols, and the schema installer.
        .target(
            name: "KychPostgres",
            dependencies: [
                "KychCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The Hummingbird HTTP layer: routes, request context, error mapping.
        .target(
            name: "KychGateway",
            dependencies: [
                "KychCore",
                "KychPostgres",
                "KychQR",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        .executableTarget(
            name: "kych-oauth2-gateway",
            dependencies: ["KychGateway", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "kych-client-management",
            dependencies: ["KychCore", "KychPostgres", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .executableTarget(
            name: "kych-dbinit",
            dependencies: ["KychCore", "KychPostgres", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(
            name: "KychTests",
            dependencies: [
                "KychCore",
                "KychPostgres",
                "KychGateway",
                "KychQR",
                "KychSDJWT",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
