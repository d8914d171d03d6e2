/// Where a server listens: a TCP address or a Unix domain socket, never both.
package enum ServerBinding: Sendable, Equatable {
    case tcp(host: String, port: Int)
    case unix(path: String, mode: UInt16)

    /// Whether only this machine can connect (TCP on a loopback host).
    package var isLoopbackTCP: Bool { loopbackURL != nil }

    /// `http://HOST:PORT` when the server listens on a loopback host only (an IPv6 address in brackets): what
    /// clients on this machine reach it at. `nil` for a public host or a Unix socket, which a proxy publishes.
    package var loopbackURL: String? {
        guard case .tcp(let host, let port) = self, LoopbackHost.contains(host) else { return nil }
        return host.contains(":") && !host.hasPrefix("[") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
    }
}

extension Validator {
    /// `REQUEST_TIMEOUT_SECONDS`: how long a connection may take to send a whole request (head and body), counted from
    /// its opening or its previous answer; also how long an idle keep-alive connection stays open.
    mutating func requestTimeout(_ section: IniFile.Section) -> Duration {
        .seconds(integer(section, "REQUEST_TIMEOUT_SECONDS", default: 30, min: 1, max: 3600, minMessage: "must be at least 1 second"))
    }

    /// `HOST` + `PORT`, or `UNIXPATH` (+ `UNIXPATH_MODE`): exactly one of the two. The gateway's and the
    /// verifier's sections are read by this one rule.
    mutating func serverBinding(_ section: IniFile.Section) -> ServerBinding? {
        let host = section.entry("HOST"), port = section.entry("PORT")
        let unixPath = section.entry("UNIXPATH"), unixMode = section.entry("UNIXPATH_MODE")
        if let unixPath {
            if host != nil || port != nil {
                error(section, unixPath, "both TCP (HOST/PORT) and Unix socket (UNIXPATH) binding are set; choose one")
                return nil
            }
            var mode: UInt16? = 0o666
            if let unixMode {
                mode = UInt16(unixMode.value, radix: 8).flatMap { $0 <= 0o777 ? $0 : nil }
                if mode == nil { error(section, unixMode, "\"\(unixMode.value)\" is not an octal permission mode (e.g. 660)") }
            }
            let absolute = unixPath.value.hasPrefix("/")
            if !absolute { error(section, unixPath, "must be an absolute path to the socket file") }
            guard absolute, let mode else { return nil }
            return .unix(path: unixPath.value, mode: mode)
        }
        guard let host, !host.value.isEmpty, let port else {
            if host == nil && port == nil {
                errors.append(ConfigError(file: file, line: section.line, section: section.name, key: nil,
                                          message: "no server binding: set HOST and PORT, or UNIXPATH"))
            } else if let port {
                errors.append(ConfigError(file: file, line: port.line, section: section.name, key: "HOST", message: "HOST is required with PORT"))
            } else if let host {
                error(section, host, "PORT is required with HOST")
            }
            return nil
        }
        guard let number = Int(port.value), (1...65535).contains(number) else {
            error(section, port, "\"\(port.value)\" is not a port number (1-65535)")
            return nil
        }
        return .tcp(host: host.value, port: number)
    }
}
