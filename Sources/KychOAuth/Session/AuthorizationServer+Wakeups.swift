import Foundation

extension AuthorizationServer {
    /// When a waiting poll reads `session` again without a signal: at its expiry, when the verifier is next due
    /// to be asked (an interval from now if that moment is past: this poll asked, or another did), or after the fallback.
    func nextRead(of session: VerificationSession) -> ContinuousClock.Instant {
        let now = now()
        var seconds = min(wakeupFallback, session.expiresAt.timeIntervalSince(now))
        if session.status == .authorized {
            let due = (session.lastCheckedAt ?? now).addingTimeInterval(verifierPollInterval).timeIntervalSince(now)
            seconds = min(seconds, due > 0 ? due : verifierPollInterval)
        }
        return .now + .seconds(max(seconds, 0.01))
    }
}
