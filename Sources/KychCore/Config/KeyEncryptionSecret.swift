extension Validator {
    /// `KEY_ENCRYPTION_SECRET` of `section` (the gateway's or a standalone verifier's): secrets at rest are sealed under
    /// a key derived from it (``SecretSealing``). At least 32 bytes; its value never appears in an error.
    mutating func keyEncryptionSecret(_ section: IniFile.Section) -> String? {
        guard let entry = section.entry("KEY_ENCRYPTION_SECRET") else { return nil }
        if entry.value.utf8.count < 32 { error(section, entry, "must be at least 32 bytes (got \(entry.value.utf8.count))") }
        return entry.value
    }
}

extension GatewayConfig {
    /// Seals the gateway's secrets at rest (and an embedded verifier's keys) under `KEY_ENCRYPTION_SECRET`.
    package var sealing: SecretSealing { SecretSealing(secret: keyEncryptionSecret) }
}

extension VerifierConfig {
    /// Seals a standalone verifier's response-encryption keys under its `KEY_ENCRYPTION_SECRET`.
    package var sealing: SecretSealing { SecretSealing(secret: keyEncryptionSecret) }
}
