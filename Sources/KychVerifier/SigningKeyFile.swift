import Crypto
import Foundation

/// A P-256 private key in a PEM file (PKCS #8), created with mode 0600 when missing.
package enum SigningKeyFile {
    /// Reads the key at `path`, or creates a new one there if the file does not exist.
    /// Returns the key and whether it was created now.
    package static func loadOrCreate(path: String) throws(SigningKeyFileError) -> (key: P256.Signing.PrivateKey, created: Bool) {
        if FileManager.default.fileExists(atPath: path) { return (try load(path: path), false) }
        let key = P256.Signing.PrivateKey()
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            if errno == EEXIST { return (try load(path: path), false) }   // created concurrently
            throw SigningKeyFileError(path: path, problem: "cannot be created: \(String(cString: strerror(errno)))")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: Data((key.pemRepresentation + "\n").utf8))
            try handle.synchronize()
        } catch {
            unlink(path)
            throw SigningKeyFileError(path: path, problem: "cannot be written: \(error)")
        }
        return (key, true)
    }

    /// Reads the key at `path`.
    package static func load(path: String) throws(SigningKeyFileError) -> P256.Signing.PrivateKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SigningKeyFileError(path: path, problem: "cannot be read")
        }
        do {
            return try P256.Signing.PrivateKey(pemRepresentation: String(decoding: data, as: UTF8.self))
        } catch {
            throw SigningKeyFileError(path: path, problem: "does not hold a PEM P-256 private key")
        }
    }

    /// Whether group or others may read the file.
    package static func isReadableByOthers(path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & 0o077 != 0
    }
}

/// A key file that cannot be used.
package struct SigningKeyFileError: Error, Sendable, CustomStringConvertible {
    package var path: String
    package var problem: String
    package var description: String { "key file \(path) \(problem)" }
}
