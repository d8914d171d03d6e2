import Foundation
import KychCore
import KychOAuth
import Testing

/// The session state machine decides every transition without I/O.
@Suite struct SessionMachineTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func session(_ status: SessionStatus, expiresIn: TimeInterval = 60) -> VerificationSession {
        VerificationSession(serial: 1, clientID: "c", sessionID: "s", nonce: "n", status: status, createdAt: now,
                            expiresAt: now.addingTimeInterval(expiresIn))
    }

    @Test func transitionsOnlyFromTheirStates() {
        #expect(SessionEvent.verificationCreated.apply(to: .pending) == .authorized)
        #expect(SessionEvent.verificationCreated.apply(to: .authorized) == nil)
        #expect(SessionEvent.verifierSucceeded.apply(to: .authorized) == .verified)
        #expect(SessionEvent.verifierFailed.apply(to: .verified) == nil)     // a late FAILED never undoes SUCCESS
        #expect(SessionEvent.codeIssued.apply(to: .verified) == .completed)
        #expect(SessionEvent.codeIssued.apply(to: .completed) == nil)        // single use
        #expect(SessionEvent.timedOut.apply(to: .verified) == .expired)
        #expect(SessionEvent.timedOut.apply(to: .completed) == nil)
    }

    @Test func everyNonFinalStateHasAWayToAFinalOne() {
        let events: [SessionEvent] = [.verificationCreated, .verifierSucceeded, .verifierFailed, .verificationVanished, .codeIssued, .timedOut]
        for status in SessionStatus.allCases where !status.isFinal {
            #expect(events.contains { $0.apply(to: status)?.isFinal == true }, "\(status) cannot end")
        }
        for status in SessionStatus.allCases where status.isFinal {
            #expect(events.allSatisfy { $0.apply(to: status) == nil }, "\(status) is final")
        }
    }

    @Test func successExtendsTheLifetimeForFinalize() throws {
        let machine = SessionMachine(now: now)
        let soon = try #require(machine.verifierAnswered(.success(VerifiedCredential(claims: [:], vct: nil, issuer: nil)), session: session(.authorized)))
        #expect(soon.to == .verified && soon.change.expiresAt == now.addingTimeInterval(SessionMachine.finalizeGrace))
        let later = try #require(machine.verifierAnswered(.success(VerifiedCredential(claims: [:], vct: nil, issuer: nil)),
                                                          session: session(.authorized, expiresIn: 3600)))
        #expect(later.change.expiresAt == now.addingTimeInterval(3600))
        #expect(machine.verifierAnswered(.pending, session: session(.authorized)) == nil)
    }

    @Test func failuresAreClassified() throws {
        let machine = SessionMachine(now: now)
        let person = try #require(machine.verifierAnswered(.failed(code: "CREDENTIAL_REVOKED", description: nil), session: session(.authorized)))
        #expect(person.to == .failed && person.change.failure?.kind == .verification && person.change.finishedAt == now)
        let fault = try #require(machine.verifierAnswered(.failed(code: "unresolvable_status_list", description: nil), session: session(.authorized)))
        #expect(fault.change.failure?.kind == .server)
        #expect(machine.verifierAnswered(.failed(code: nil, description: "x"), session: session(.authorized))?.change.failure?.kind == .server)
        #expect(machine.verifierAnswered(.notFound, session: session(.authorized))?.to == .expired)
    }

    @Test func transitionsApplyOnlyWhereAllowed() {
        let machine = SessionMachine(now: now)
        let record = AuthorizationRequestRecord(redirectURI: "https://r/cb", state: nil, scope: [], browserBindingHash: Data(count: 32))
        let start = machine.verificationCreated(record, VerifierVerification(id: "v", requestNonce: nil, verificationURL: "u", deeplink: "d"))
        #expect(start.applies(to: session(.pending)))
        #expect(!start.applies(to: session(.authorized)))
        #expect(!start.applies(to: session(.pending, expiresIn: 0)))   // expired by now
        #expect(start.applied(to: session(.pending)).verification?.id == "v")
        #expect(machine.codeIssued().applies(to: session(.verified)) && !machine.codeIssued().applies(to: session(.completed)))
    }

    @Test func effectiveStatusExpiresWaitingSessions() {
        let past = now.addingTimeInterval(-1)
        func stored(_ status: SessionStatus) -> VerificationSession {
            VerificationSession(serial: 1, clientID: "c", sessionID: "s", nonce: "n", status: status, createdAt: past, expiresAt: past)
        }
        #expect(stored(.authorized).effectiveStatus(now: now) == .expired)
        #expect(stored(.pending).effectiveStatus(now: now) == .expired)
        #expect(stored(.completed).effectiveStatus(now: now) == .completed)
        #expect(stored(.failed).effectiveStatus(now: now) == .failed)
    }

    @Test func verifierCheckIsDueAfterTheInterval() {
        var s = session(.authorized)
        s.lastCheckedAt = now.addingTimeInterval(-2)
        #expect(!SessionMachine(now: now).verifierCheckDue(s, interval: 3))
        #expect(SessionMachine(now: now.addingTimeInterval(2)).verifierCheckDue(s, interval: 3))
        #expect(!SessionMachine(now: now.addingTimeInterval(10)).verifierCheckDue(session(.verified), interval: 3))
    }
}
