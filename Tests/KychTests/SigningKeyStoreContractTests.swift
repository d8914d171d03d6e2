import Foundation
import KychCore
import KychOAuth
import KychStorage
import Testing

extension FlowBackend {
    func withSigningKeyStore<T: Sendable>(_ body: @Sendable (any SigningKeyStore) async throws -> T) async throws -> T {
        switch self {
        case .postgres: try await Backend.postgres.withStores { try await body($0.signingKeys) }
        case .sqlite: try await Backend.sqlite.withStores { try await body($0.signingKeys) }
        case .memory: try await body(InMemoryStore())
        }
    }
}

/// The signing-key primitives on PostgreSQL, SQLite and in memory: they keep what they are given and change only
/// what the caller named. The rules (which key signs, what is published) are tested in KychOAuthTests.
@Suite struct SigningKeyStoreContractTests {
    static let now = Date(timeIntervalSince1970: (Date().timeIntervalSince1970).rounded())

    static func key(_ kid: String, _ algorithm: SigningAlgorithm = .es256, sealed: Bool = true, activatesIn: TimeInterval = 0) -> StoredSigningKey {
        StoredSigningKey(kid: kid, algorithm: algorithm, publicJWK: ["kty": "EC", "crv": "P-256", "x": .string(kid), "y": "y"],
                         privateKey: Data("private-\(kid)".utf8), sealed: sealed, createdAt: now,
                         activatesAt: now.addingTimeInterval(activatesIn), retiresAt: nil)
    }

    @Test(arguments: FlowBackend.allCases)
    func keysAreStoredRetiredAndDeletedAsTold(_ backend: FlowBackend) async throws {
        try await backend.withSigningKeyStore { store in
            let a = Self.key("a"), b = Self.key("b", .rs256, sealed: false)
            #expect(try await store.signingKeys() == [])
            #expect(try await store.insertFirstSigningKeys([a, b]))
            #expect(try await store.signingKeys() == [a, b])
            #expect(!(try await store.insertFirstSigningKeys([Self.key("other")])))
            #expect(try await store.signingKeys() == [a, b])

            let c = Self.key("c", activatesIn: 3600), retiresAt = Self.now.addingTimeInterval(90_000)
            try await store.insertSigningKeys([c], retiring: ["a"], at: retiresAt)
            var retiredA = a
            retiredA.retiresAt = retiresAt
            #expect(try await store.signingKeys() == [retiredA, b, c])
            // A retirement once set stays.
            try await store.insertSigningKeys([], retiring: ["a", "b"], at: retiresAt.addingTimeInterval(60))
            var retiredB = b
            retiredB.retiresAt = retiresAt.addingTimeInterval(60)
            #expect(try await store.signingKeys() == [retiredA, retiredB, c])

            #expect(try await store.deleteSigningKeys(retiredBy: retiresAt.addingTimeInterval(-1)) == 0)
            #expect(try await store.deleteSigningKeys(retiredBy: retiresAt) == 1)
            #expect(try await store.signingKeys() == [retiredB, c])
        }
    }

    @Test(arguments: FlowBackend.allCases)
    func ofConcurrentFirstInsertsExactlyOneStores(_ backend: FlowBackend) async throws {
        try await backend.withSigningKeyStore { store in
            let won = try await withThrowingTaskGroup(of: Bool.self) { group in
                for n in 0..<4 { group.addTask { try await store.insertFirstSigningKeys([Self.key("es\(n)"), Self.key("rs\(n)", .rs256)]) } }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(won == 1)
            #expect(try await store.signingKeys().map(\.algorithm) == [.es256, .rs256])
        }
    }
}
