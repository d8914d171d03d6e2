import Foundation
import KychCore
import KychOAuth
import KychStorage
import Testing

/// `kych-dbinit --rotate-keys`: the operator's rotation, on a SQLite `DATABASE`.
@Suite struct KeyRotationCLITests {
    @Test func rotateKeysAddsNewKeysAheadAndRetiresTheOldOnes() async throws {
        let database = "sqlite://" + FileManager.default.temporaryDirectory.appendingPathComponent("kych-rotate-\(UUID().uuidString).db").path
        let conf = try temporaryFile("""
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = 1
            DATABASE = \(database)
            KEY_ENCRYPTION_SECRET = ${KYCH_TEST_KEY_SECRET}
            """)
        let environment = ["KYCH_TEST_KEY_SECRET": "rotation-test-key-encryption-secret-0123"]
        let before = Date()
        let rotated = try await Run.program("kych-dbinit", ["-c", conf, "--rotate-keys", "--publish-ahead", "600", "--retain", "7200"],
                                      environment: environment)
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let printed = rotated.stdout.split(separator: "\n").filter { $0.hasPrefix("New ") }
        #expect(printed.count == 2 && printed[0].hasPrefix("New ES256 signing key ") && printed[1].hasPrefix("New RS256 signing key "),
                "\(rotated.stdout)")

        let keys = try await Stores.with(database, sealing: .unencrypted, logger: TestEnvironment.logger) { try await $0.signingKeys.signingKeys() }
        // The first keys (created by this first use) and the rotation's, which the output names.
        #expect(keys.count == 4 && keys.allSatisfy { $0.sealed })
        let (old, new) = (Array(keys.prefix(2)), Array(keys.suffix(2)))
        #expect(new.allSatisfy { key in printed.contains { $0.contains(" \(key.kid),") } })
        let takeover = try #require(new.first?.activatesAt)
        #expect(takeover.timeIntervalSince(before) > 599 && takeover.timeIntervalSince(before) < 660)
        #expect(new.allSatisfy { $0.activatesAt == takeover && $0.retiresAt == nil })
        #expect(old.allSatisfy { $0.retiresAt == takeover.addingTimeInterval(7200) })

        let negative = try await Run.program("kych-dbinit", ["-c", conf, "--rotate-keys", "--retain=-1"], environment: environment)
        #expect(negative.status != 0 && negative.stderr.contains("must not be negative"), "\(negative.stderr)")
    }
}
