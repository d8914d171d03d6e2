import Foundation

/// One `[scope_NAME]` section: which presented credential grants the scope NAME with `grant_type=vp_token-bearer`
/// (issue 16). The organisation's wallet presents one SD-JWT VC; it satisfies the scope when its `vct` is one of
/// ``vctValues``, its issuer (the DID of the key that signed it) is one of ``acceptedIssuerDIDs`` and every claim of
/// ``requiredClaims`` was presented.
package struct PresentationScope: Sendable, Equatable {
    /// NAME, as clients write it in `scope` (case-sensitive, like every OAuth scope value).
    package var name: String
    /// `VCT`: the credential types accepted.
    package var vctValues: [String]
    /// `ACCEPTED_ISSUER_DIDS`: the issuers trusted for this scope.
    package var acceptedIssuerDIDs: [String]
    /// `REQUIRED_CLAIMS`: top-level claims the presentation must disclose (names; `a.b` for a nested member).
    package var requiredClaims: [String]
    /// `CHECK_STATUS_LIST` (default yes): a credential with a status list entry is checked against it, and refused
    /// when revoked or suspended or when the list cannot be read. `no` skips the lookup.
    package var checksStatusList: Bool

    package init(name: String, vctValues: [String], acceptedIssuerDIDs: [String], requiredClaims: [String] = [],
                 checksStatusList: Bool = true) {
        self.name = name
        self.vctValues = vctValues
        self.acceptedIssuerDIDs = acceptedIssuerDIDs
        self.requiredClaims = requiredClaims
        self.checksStatusList = checksStatusList
    }

    package static let sectionPrefix = "scope_"
    static let keys: Set<String> = ["VCT", "ACCEPTED_ISSUER_DIDS", "REQUIRED_CLAIMS", "CHECK_STATUS_LIST"]

    /// Validates one `[scope_NAME]` section; nil (with errors recorded) when it is not usable.
    static func validate(_ section: IniFile.Section, validator v: inout Validator) -> PresentationScope? {
        let before = v.errors.count
        for entry in section.entries where !keys.contains(entry.key.uppercased()) {
            v.warn(section, entry, "unknown option (ignored)")
        }
        let name = String(section.name.dropFirst(sectionPrefix.count))
        if name.isEmpty || !name.unicodeScalars.allSatisfy(Self.isScopeCharacter) {
            v.errors.append(ConfigError(file: v.file, line: section.line, section: section.name, key: nil,
                                        message: "the scope name after scope_ must be non-empty printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)"))
        }
        func nonEmptyList(_ key: String) -> [String] {
            guard let entry = section.entry(key) else { v.missing(section, key); return [] }
            let list = IniFile.list(entry.value)
            if list.isEmpty { v.error(section, entry, "must list at least one value") }
            return list
        }
        let vct = nonEmptyList("VCT")
        let issuers = nonEmptyList("ACCEPTED_ISSUER_DIDS")
        if let entry = section.entry("ACCEPTED_ISSUER_DIDS") {
            for did in issuers where !did.hasPrefix("did:") || did.contains("#") {
                v.error(section, entry, "\"\(did)\" is not a DID (did:method:…, without a fragment)")
            }
        }
        let claims = section.entry("REQUIRED_CLAIMS").map { IniFile.list($0.value) } ?? []
        let checks = v.yesNo(section, "CHECK_STATUS_LIST", default: true)
        guard v.errors.count == before else { return nil }
        return PresentationScope(name: name, vctValues: vct, acceptedIssuerDIDs: issuers, requiredClaims: claims,
                                 checksStatusList: checks)
    }

    /// RFC 6749 §3.3 scope-token characters: %x21 / %x23-5B / %x5D-7E.
    static func isScopeCharacter(_ c: Unicode.Scalar) -> Bool {
        c == "\u{21}" || (c >= "\u{23}" && c <= "\u{5B}") || (c >= "\u{5D}" && c <= "\u{7E}")
    }
}
