import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 12, finding 6: slow and half-sent requests. Every listener closes a connection that has not sent a whole
/// request within `REQUEST_TIMEOUT_SECONDS`, so such connections cannot pile up until file descriptors run out.
@Suite struct ConnectionTimeoutTests {
    @Test func theGatewayClosesHalfSentRequestsAndKeepsAnswering() async throws {
        try await expectSlowClientsAreClosed(by: "kych-oauth2-gateway") { directory, port in """
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = \(port)
            DATABASE = sqlite://\(directory)/kych.db
            REQUEST_TIMEOUT_SECONDS = 1
            """
        }
    }

    @Test func theVerifierClosesHalfSentRequests() async throws {
        try await expectSlowClientsAreClosed(by: "kych-verifier") { directory, port in """
            [kych-verifier]
            HOST = 127.0.0.1
            PORT = \(port)
            DATABASE = sqlite://\(directory)/verifier.db
            EXTERNAL_URL = http://127.0.0.1:\(port)
            SIGNING_KEY_FILE = \(directory)/verifier.pem
            REQUEST_TIMEOUT_SECONDS = 1
            """
        }
    }

    /// Runs `executable` with the configuration `config` gives for a scratch directory and a port, then checks it.
    private func expectSlowClientsAreClosed(by executable: String, config: (_ directory: String, _ port: Int) -> String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kych-timeout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = TestPorts.next()
        let server = try await GatewayProcess(configPath: try temporaryFile(config(directory.path, port)),
                                              baseURL: "http://127.0.0.1:\(port)", executable: executable)
        defer { _ = server.process.isRunning ? kill(server.process.processIdentifier, SIGKILL) : 0 }
        try await expectSlowClientsAreClosed(port: port, baseURL: server.baseURL)
        #expect(await server.terminate() == 0)
    }

    /// A half-sent head, a trickled body and an idle keep-alive connection are each closed a little after the
    /// 1 s timeout; 300 half-sent heads held open at once do not keep `/health` from answering.
    private func expectSlowClientsAreClosed(port: Int, baseURL: String) async throws {
        let halfHead = try RawConnection(port: port)
        halfHead.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        let trickle = try RawConnection(port: port)
        trickle.send("POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n")
        let idle = try RawConnection(port: port)
        idle.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(idle.readAvailable(within: 5).contains("200"), "an answered request first")

        // The trickled body keeps sending (each byte would reset an idle timer), yet its request has a deadline.
        var trickleClosed = false
        for _ in 0..<20 where !trickleClosed {
            trickle.send("a")
            trickleClosed = trickle.closedByPeer(within: 0.25)
        }
        #expect(trickleClosed, "a trickled body was not cut off within 5 s")
        #expect(halfHead.closedByPeer(within: 5), "a half-sent request head stayed open")
        #expect(idle.closedByPeer(within: 5), "an idle keep-alive connection stayed open")

        let crowd = try (0..<300).map { _ in try RawConnection(port: port) }
        for connection in crowd { connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n") }
        let health = try await HTTP.get(baseURL + "/health")
        #expect(health.status == 200)
        #expect(crowd.allSatisfy { $0.closedByPeer(within: 5) }, "half-sent requests stayed open")
    }
}

/// A client socket speaking raw bytes, to send what no HTTP client library would: half a request.
final class RawConnection {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw TestSetupError("cannot connect to 127.0.0.1:\(port): errno \(errno)")
        }
    }

    deinit { close(fd) }

    func send(_ text: String) {
        _ = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    /// What arrives within `seconds` (until the first pause).
    func readAvailable(within seconds: Double) -> String {
        var text = ""
        while wait(seconds) {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { break }
            text += String(decoding: buffer[0..<n], as: UTF8.self)
            if text.contains("\r\n\r\n") { break }
        }
        return text
    }

    /// Whether the server closes the connection within `seconds` (answers before that are read and dropped).
    func closedByPeer(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0, wait(left) else { return false }
            var buffer = [UInt8](repeating: 0, count: 4096)
            if recv(fd, &buffer, buffer.count, 0) <= 0 { return true }
        }
    }

    private func wait(_ seconds: Double) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, Int32(max(1, seconds * 1000))) > 0
    }
}
