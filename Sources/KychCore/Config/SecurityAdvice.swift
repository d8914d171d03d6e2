/// Settings the manual allows (and whose defaults it keeps) where the OAuth security guidance asks for shorter or
/// stricter values: `--check-config` and the start-up log warn about them, and nothing refuses them.
extension GatewayConfig {
    package var securityAdvice: [String] {
        var advice: [String] = []
        if authCodeTTLMinutes > 1 {
            let beyond = authCodeTTLMinutes > 10 ? ", more than RFC 6749's recommended maximum" : ""
            advice.append("AUTH_CODE_TTL_MINUTES = \(authCodeTTLMinutes)\(beyond): RFC 6749 §4.1.2 says \"The authorization code MUST "
                + "expire shortly after it is issued to mitigate the risk of leaks. A maximum authorization code lifetime of "
                + "10 minutes is RECOMMENDED\", and RFC 9700 §4.2.4 relies on short-lived codes; the client redeems its code "
                + "at once, so 1 is enough")
        }
        advice += binding.securityAdvice
        return advice
    }
}

extension ServerBinding {
    /// A Unix socket every local user may write to bypasses the reverse proxy's TLS, body-size and rate limits.
    package var securityAdvice: [String] {
        guard case .unix(_, let mode) = self, mode & 0o002 != 0 else { return [] }
        return ["UNIXPATH_MODE = \(String(mode, radix: 8)) lets every local user connect to the socket, past the reverse proxy "
            + "and its limits: 660, with the proxy in the socket's group, is stricter"]
    }
}
