import Foundation

/// Runs an operation from `concurrency` tasks at once, timing each call, and this process's CPU meanwhile.
struct Load {
    let concurrency: Int

    /// What a run measured and what its operations returned (by operation number; failed ones left out).
    struct Outcome {
        var figures: Figures
        var results: [String]
    }

    /// Calls `operation` with the numbers 0..<`times` (or, without `times`, ever higher numbers until `seconds`
    /// have passed), task `t` taking t, t + concurrency, … so that operations spread over a list round robin.
    /// A failed operation is counted and the run goes on; the first failure is written to standard error.
    func run(times: Int? = nil, seconds: Double = .infinity,
             _ operation: @escaping @Sendable (Int) async throws -> String?) async throws -> Outcome {
        let clock = ContinuousClock()
        let start = clock.now, cpuStart = Self.cpuTime()
        let deadline = seconds.isFinite ? start + .milliseconds(Int(seconds * 1000)) : nil
        let tasks = try await withThrowingTaskGroup(of: Task.self) { group in
            for number in 0..<concurrency {
                group.addTask {
                    var task = Task()
                    var index = number
                    while index < (times ?? .max), deadline.map({ clock.now < $0 }) ?? true {
                        let began = clock.now
                        do {
                            let result = try await operation(index)
                            task.latencies.append(clock.now - began)
                            if let result { task.results.append((index, result)) }
                        } catch {
                            task.errors += 1
                            if task.firstError == nil { task.firstError = "\(error)" }
                        }
                        index += concurrency
                    }
                    return task
                }
            }
            return try await group.reduce(into: [Task]()) { $0.append($1) }
        }
        let elapsed = clock.now - start
        let cpu = Self.cpuTime() - cpuStart
        if let message = tasks.lazy.compactMap(\.firstError).first {
            FileHandle.standardError.write(Data("kych-bench: \(tasks.map(\.errors).reduce(0, +)) failed, first: \(message)\n".utf8))
        }
        let figures = Figures(latencies: tasks.flatMap(\.latencies), errors: tasks.map(\.errors).reduce(0, +),
                              elapsed: elapsed, cpu: cpu)
        return Outcome(figures: figures, results: tasks.flatMap(\.results).sorted { $0.0 < $1.0 }.map(\.1))
    }

    /// One task's record.
    private struct Task: Sendable {
        var latencies: [Duration] = []
        var results: [(Int, String)] = []
        var errors = 0
        var firstError: String?
    }

    /// User plus system CPU time of this process, in seconds.
    static func cpuTime() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}

/// The figures of one run, printed as one line of `name=value` pairs for scripts/bench.
struct Figures {
    var latencies: [Duration]
    var errors: Int
    var elapsed: Duration
    /// This process's CPU seconds during the run.
    var cpu: Double

    var line: String {
        let sorted = latencies.sorted()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        func milliseconds(_ quantile: Double) -> String {
            guard !sorted.isEmpty else { return "nan" }
            let value = sorted[min(sorted.count - 1, Int((Double(sorted.count) * quantile).rounded(.down)))]
            return String(format: "%.2f", Double(value.components.attoseconds) / 1e15 + Double(value.components.seconds) * 1000)
        }
        let ops = sorted.count
        return ["ops=\(ops)", "errors=\(errors)", String(format: "seconds=%.2f", seconds),
                String(format: "ops_per_s=%.1f", Double(ops) / seconds), "p50_ms=\(milliseconds(0.5))", "p99_ms=\(milliseconds(0.99))",
                String(format: "bench_cpu_ms_per_op=%.3f", ops == 0 ? 0 : cpu * 1000 / Double(ops))].joined(separator: " ")
    }
}
