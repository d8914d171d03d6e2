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
    /// verifier's sections are read by this one rule, their metrics listeners too (`prefix` `METRICS_`, which may
    /// be left out: `nil` without an error).
    mutating func serverBinding(_ section: IniFile.Section, prefix: String = "") -> ServerBinding? {
        let host = section.entry(prefix + "HOST"), port = section.entry(prefix + "PORT")
        let unixPath = section.entry(prefix + "UNIXPATH"), unixMode = section.entry(prefix + "UNIXPATH_MODE")
        if !prefix.isEmpty, host == nil, port == nil, unixPath == nil { return nil }
        if let unixPath {
            if host != nil || port != nil {
                error(section, unixPath, "both TCP (\(prefix)HOST/\(prefix)PORT) and Unix socket (\(prefix)UNIXPATH) binding are set; choose one")
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
                errors.append(ConfigError(file: file, line: port.line, section: section.name, key: prefix + "HOST", message: "\(prefix)HOST is required with \(prefix)PORT"))
            } else if let host {
                error(section, host, "\(prefix)PORT is required with \(prefix)HOST")
            }
            return nil
        }
        guard let number = Int(port.value), (1...65535).contains(number) else {
            error(section, port, "\"\(port.value)\" is not a port number (1-65535)")
            return nil
        }
        return .tcp(host: host.value, port: number)
    }

    /// `METRICS_HOST` + `METRICS_PORT` or `METRICS_UNIXPATH`: the listener of `/metrics`, which must not be `serving`'s (the
    /// public listener never answers `/metrics`); `nil` when not set.
    mutating func metricsBinding(_ section: IniFile.Section, serving: ServerBinding?) -> ServerBinding? {
        guard let metrics = serverBinding(section, prefix: "METRICS_") else { return nil }
        if metrics == serving, let entry = section.entry("METRICS_PORT") ?? section.entry("METRICS_UNIXPATH") {
            error(section, entry, "the metrics listener must differ from the server's own (HOST/PORT or UNIXPATH)")
            return nil
        }
        return metrics
    }

    /// `LOG_FORMAT`: `text` (the default) or `json`.
    mutating func logFormat(_ section: IniFile.Section) -> LogFormat {
        guard let entry = section.entry("LOG_FORMAT") else { return .text }
        guard let format = LogFormat(rawValue: entry.value.lowercased()) else {
            error(section, entry, "\"\(entry.value)\" is not a log format (text or json)")
            return .text
        }
        return format
    }
}
