import Foundation
import KychCore
import KychOAuth
import Synchronization
import Testing

/// `/status` long polls wait for a signal instead of reading the store on a timer (issue 12, finding 14).
@Suite(.timeLimit(.minutes(3))) struct LongPollTests {
    /// The fixture's flow on two servers sharing one store and one set of waiters, as the routes and the webhook
    /// of one process do: `server` polls (its session reads counted), `notifier` takes the verifier's webhook.
    struct Polling {
        let f: FlowFixture
        let counted: CountingStore
        var server: AuthorizationServer
        var notifier: AuthorizationServer
        let wakeups = LocalSessionWakeups()
        let id: String

        init() async throws {
            f = try await FlowFixture()
            counted = CountingStore(f.store)
            let clock = f.clock
            server = AuthorizationServer(config: f.server.config, clients: f.store, store: counted, verifier: f.verifier,
                                         logger: f.server.logger, now: { clock.now })
            server.wakeups = wakeups
            notifier = f.server
            notifier.wakeups = wakeups
            id = try await f.authorize(nonce: try await f.setup()).verification.id
        }

        /// Starts a poll of up to 150 s (a safety net: a signal or a cancellation ends it; 20 s ran out on a loaded machine) on `verification` (default: the fixture's) and returns once it is parked.
        func startPoll(_ verification: String? = nil) async throws -> Task<SessionStatus, any Error> {
            let parkedBefore = wakeups.parkedCount
            let server = server, id = verification ?? id
            let poll = Task { try await server.status(verificationID: id, state: "st", timeout: .seconds(150)) }
            while wakeups.parkedCount == parkedBefore { try await Task.sleep(for: .milliseconds(5)) }
            return poll
        }

        /// No timer wakes a parked poll (the verifier check, the fallback), so the parked count holds still on a busy machine.
        mutating func parkUntilSignalled() {
            server.verifierPollInterval = 600
            server.wakeupFallback = 600
        }

        /// The wallet succeeded and the verifier's webhook arrived.
        func verified() async throws {
            await f.verifier.answer(id, with: .success(FlowFixture.credential))
            try await notifier.notification(verificationID: id) { _ in nil }
        }
    }

    @Test func aWaitingPollReadsTheStoreOnlyWhenWoken() async throws {
        let p = try await Polling()
        // Two seconds with no change: one read, and one at the deadline (the old loop read eight times).
        #expect(try await p.server.status(verificationID: p.id, state: "st", timeout: .seconds(2)) == .authorized)
        #expect(p.counted.sessionReads <= 3)

        let poll = try await p.startPoll()
        let readsWhileParked = p.counted.sessionReads
        try await Task.sleep(for: .seconds(1))
        #expect(p.counted.sessionReads == readsWhileParked)
        try await p.verified()
        // The poll answers on the signal, long before its 150 s (and the fallback read) are up.
        #expect(try await poll.value == .verified)
        #expect(p.counted.sessionReads == readsWhileParked + 1)
        #expect(p.wakeups.parkedCount == 0)
    }

    /// A signal that never comes (a lost NOTIFY, a change made elsewhere) delays the answer until the fallback read.
    @Test func aLostSignalCostsLatencyNotTheAnswer() async throws {
        var p = try await Polling()
        p.server.wakeupFallback = 0.2
        let poll = try await p.startPoll()
        await p.f.verifier.answer(p.id, with: .success(FlowFixture.credential))
        // The fixture's own server has waiters of its own: its change signals none of the polls.
        try await p.f.server.notification(verificationID: p.id) { _ in nil }
        #expect(try await poll.value == .verified)
    }

    /// With no webhook at all, the poll still asks the verifier itself once the poll interval is up.
    @Test func aWaitingPollStillAsksTheVerifier() async throws {
        var p = try await Polling()
        p.server.verifierPollInterval = 0.3
        await p.f.verifier.answer(p.id, with: .success(FlowFixture.credential))
        let poll = try await p.startPoll()
        p.f.clock.advance(1)
        #expect(try await poll.value == .verified)
        #expect(await p.f.verifier.asked == 1)
    }

    @Test func pollsBeyondTheCapAnswerAtOnce() async throws {
        var p = try await Polling()
        p.server.longPolls = LongPollLimits(perVerification: 2, total: 3)
        p.parkUntilSignalled()
        let first = try await p.startPoll(), second = try await p.startPoll()
        // A third poll on the same verification is not parked: it answers with the current status.
        #expect(try await p.server.status(verificationID: p.id, state: "st", timeout: .seconds(20)) == .authorized)
        #expect(p.wakeups.parkedCount == 2)
        // Another verification still gets the one slot left in total, then the total cap holds too.
        let other = try await p.f.authorize(nonce: try await p.f.setup()).verification.id
        let third = try await p.startPoll(other)
        #expect(try await p.server.status(verificationID: other, state: "st", timeout: .seconds(20)) == .authorized)
        #expect(p.wakeups.parkedCount == 3)
        try await p.verified()
        #expect(try await first.value == .verified)
        #expect(try await second.value == .verified)
        // The slots are given back: another poll waits again.
        let again = try await p.startPoll(other)
        #expect(p.wakeups.parkedCount == 2)
        third.cancel()
        again.cancel()
        #expect(try await third.value == .authorized)
        #expect(try await again.value == .authorized)
    }

    @Test func aCancelledPollLeavesNothingParked() async throws {
        var p = try await Polling()
        p.parkUntilSignalled()
        var polls: [Task<SessionStatus, any Error>] = []
        for _ in 0..<3 { polls.append(try await p.startPoll()) }
        #expect(p.wakeups.parkedCount == 3)
        for poll in polls { poll.cancel() }
        for poll in polls { #expect(try await poll.value == .authorized) }
        #expect(p.wakeups.parkedCount == 0)
        // Their slots are free again: with a cap of one, a poll after a cancelled one still waits.
        var limited = p
        limited.server.longPolls = LongPollLimits(perVerification: 1, total: 1)
        let poll = try await limited.startPoll()
        poll.cancel()
        #expect(try await poll.value == .authorized)
        let next = try await limited.startPoll()
        next.cancel()
        #expect(try await next.value == .authorized)
    }

    /// A poll cancelled while it reads (a graceful shutdown, a client gone) answers with the status it read before,
    /// not with an error.
    @Test func aPollCancelledDuringAReadAnswersTheLastStatus() async throws {
        let p = try await Polling()
        let poll = try await p.startPoll()
        let reads = p.counted.sessionReads
        p.counted.slowReads.withLock { $0 = true }
        await p.wakeups.signal(verificationID: p.id)
        while p.counted.sessionReads == reads { try await Task.sleep(for: .milliseconds(5)) }
        poll.cancel()
        #expect(try await poll.value == .authorized)
    }

    /// A change signalled after a poll read its session but before it waits wakes it at once: the poll watches its
    /// verification and waits for a signal after the count it saw before the read (before, it slept to its next read).
    @Test func aSignalBetweenTheReadAndTheWaitIsNotLost() async throws {
        let wakeups = LocalSessionWakeups()
        wakeups.watch("v")
        let seen = wakeups.signals("v")
        await wakeups.signal(verificationID: "v")
        let began = ContinuousClock.now
        await wakeups.wait(verificationID: "v", after: seen, until: .now + .seconds(30))
        #expect(ContinuousClock.now - began < .seconds(15))
        #expect(wakeups.parkedCount == 0)
        // Unwatched, nothing is kept: the next wait parks until signalled.
        wakeups.unwatch("v")
        #expect(wakeups.signals("v") == 0)
        let waiting = Task { await wakeups.wait(verificationID: "v", until: .now + .seconds(30)) }
        while wakeups.parkedCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await wakeups.signal(verificationID: "v")
        await waiting.value
        #expect(wakeups.parkedCount == 0)
    }

    /// Waiters end by signal, by deadline or by cancellation, whichever comes first, and none stays parked,
    /// also when cancellation races the parking.
    @Test func waitersNeverLeak() async throws {
        let wakeups = LocalSessionWakeups()
        await wakeups.wait(verificationID: "a", until: .now + .milliseconds(20))
        #expect(wakeups.parkedCount == 0)
        await withTaskGroup(of: Void.self) { group in
            for n in 0..<200 {
                group.addTask { await wakeups.wait(verificationID: "v\(n % 7)", until: .now + .seconds(60)) }
            }
            for _ in 0..<50 { await Task.yield() }
            group.cancelAll()
        }
        #expect(wakeups.parkedCount == 0)
        let signalled = Task { await wakeups.wait(verificationID: "b", until: .now + .seconds(60)) }
        while wakeups.parkedCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await wakeups.signal(verificationID: "other")
        #expect(wakeups.parkedCount == 1)
        wakeups.signalAll()
        await signalled.value
        #expect(wakeups.parkedCount == 0)
    }
}
