import Metrics
import NIOHTTP1

/// Counts the gateway's calls to a client's verifier and their durations, into the metrics factory bound to the
/// serving task (KychHTTP's `ServerMetrics`). Labels: the call (`create` a verification or read its `result`) and
/// its outcome (`ok`, `http_error` for a status of 400 or more, `unreachable`): never a URL, id or token.
enum VerifierCallMetrics {
    static func measure<T>(_ method: HTTPMethod, status: (T) -> Int, _ call: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        let operation = method == .POST ? "create" : "result"
        func count(_ outcome: String) {
            let dimensions = [("call", operation), ("outcome", outcome)]
            Counter(label: "kych_verifier_calls_total", dimensions: dimensions).increment()
            Metrics.Timer(label: "kych_verifier_call_duration_seconds", dimensions: dimensions).record(duration: ContinuousClock.now - started)
        }
        do {
            let reply = try await call()
            count(status(reply) < 400 ? "ok" : "http_error")
            return reply
        } catch {
            count("unreachable")
            throw error
        }
    }
}
