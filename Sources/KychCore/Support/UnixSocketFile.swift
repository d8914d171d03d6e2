import Foundation

/// Housekeeping for the gateway's Unix socket file.
package enum UnixSocketFile {
    /// Removes a socket file left behind by an earlier run; refuses to remove anything that is not a socket.
    package static func removeStale(at path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw CLIError("UNIXPATH \(path) exists and is not a socket; refusing to replace it")
        }
        unlink(path)
    }
}

extension ServerBinding {
    /// Runs a server with this binding: a stale Unix socket file is replaced first and the file is
    /// removed when `body` returns or throws. TCP bindings need nothing.
    package func serve(_ body: () async throws -> Void) async throws {
        guard case .unix(let path, _) = self else { return try await body() }
        try UnixSocketFile.removeStale(at: path)
        defer { unlink(path) }
        try await body()
    }
}
