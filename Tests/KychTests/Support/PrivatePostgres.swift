import Foundation
import KychCore
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster of one test's own, which the test may stop and start (the shared throwaway cluster of
/// `scripts/test` serves every other test). Uses the binaries `scripts/lib/postgres.sh` found (`KYCH_PG_BIN`), run as
/// the `postgres` user when the tests run as root, as that script does.
final class PrivatePostgres: Sendable {
    let root: URL
    let port: Int
    private let bin: String

    init() async throws {
        guard let bin = ProcessInfo.processInfo.environment["KYCH_PG_BIN"] else {
            throw TestSetupError("KYCH_PG_BIN is not set: run the tests with scripts/test, which finds PostgreSQL")
        }
        self.bin = bin
        port = TestPorts.next()
        root = FileManager.default.temporaryDirectory.appendingPathComponent("kych-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        if getuid() == 0 { _ = try await Run.program("/bin/chown", ["postgres:postgres", root.path]) }
        let initdb = try run("initdb", ["-D", root.path + "/data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"])
        guard initdb.status == 0 else { throw TestSetupError("initdb failed: \(initdb.output)") }
        try start()
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    var url: DatabaseURL {
        get throws { try DatabaseURL(parsing: "postgres://postgres@127.0.0.1:\(port)/postgres") }
    }

    func start() throws {
        let result = try run("pg_ctl", ["-D", root.path + "/data", "-l", root.path + "/log", "-w", "-o",
                                        "-c listen_addresses=127.0.0.1 -p \(port) -k \(root.path) -c fsync=off", "start"])
        guard result.status == 0 else { throw TestSetupError("pg_ctl start failed: \(result.output)") }
    }

    /// Stops the server as an operator's restart does (`-m fast`: open connections are terminated).
    func stop() throws {
        let result = try run("pg_ctl", ["-D", root.path + "/data", "-m", "fast", "-w", "stop"])
        guard result.status == 0 else { throw TestSetupError("pg_ctl stop failed: \(result.output)") }
    }

    /// Stops the server (if running) and deletes the cluster.
    func destroy() {
        _ = try? run("pg_ctl", ["-D", root.path + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(at: root)
    }

    /// Runs a PostgreSQL program to its end, its output in a file (through ``spawn(_:environment:output:)``: the server
    /// `pg_ctl start` leaves running would keep Foundation's Process waiting). bash first closes every descriptor above
    /// 2, so that server inherits none of the test process's (such as another child's).
    private func run(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let closeInherited = #"for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; exec "$@""#
        let argv = ["/bin/bash", "-c", closeInherited, "bash"] + (getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : [])
            + ["\(bin)/\(program)"] + arguments
        let outputFile = root.path + "/\(program).out"
        let pid = try spawn(argv, output: outputFile)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
        return ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), output)
    }
}
