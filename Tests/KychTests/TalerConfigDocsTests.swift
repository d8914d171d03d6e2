import Foundation
import KychCore
import Testing

/// docs/taler.md's exchange configuration for exchanges since v0.14 (a `LINK` check, a measure, a rule) against the
/// exchange's own configuration rules, as its source applies them at start (exchange commit c6c545e9,
/// src/kyclogic/kyclogic_api.c and plugin_kyclogic_oauth2.c), and the KyCH client sample against that provider.
@Suite struct TalerConfigDocsTests {
    static let document = TestEnvironment.packageRoot.appendingPathComponent("docs/taler.md")

    /// The first ```ini block after the heading that starts with `heading`.
    static func iniBlock(after heading: String) throws -> IniFile {
        let text = try String(contentsOf: document, encoding: .utf8)
        let section = try #require(text.range(of: "\n" + heading), "docs/taler.md has no heading \(heading)")
        let open = try #require(text.range(of: "```ini\n", range: section.upperBound..<text.endIndex))
        let close = try #require(text.range(of: "\n```", range: open.upperBound..<text.endIndex))
        return try IniFile.parse(String(text[open.upperBound..<close.lowerBound]), path: "docs/taler.md", environment: [:])
    }

    static func exchangeConfig() throws -> IniFile { try iniBlock(after: "## Exchange configuration (v0.14") }

    @Test func currentExchangeSampleFollowsTheExchangeConfigurationRules() throws {
        let problems = ExchangeKYCRules.problems(in: try Self.exchangeConfig())
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        // The model it documents: the provider is reached through a LINK check, and no longer by PROVIDED_CHECKS.
        let config = try Self.exchangeConfig()
        #expect(config.sections.contains { $0.name.lowercased().hasPrefix("kyc-check-") && $0.entry("TYPE")?.value.uppercased() == "LINK" })
        #expect(config.sections.allSatisfy { $0.entry("PROVIDED_CHECKS") == nil })
    }

    /// The rules catch what the manual's older sample lacks, so the test above can fail.
    @Test func theRulesRefuseTheManualsProviderSection() throws {
        let manual = try IniFile.parse("""
            [exchange]
            CURRENCY = CHF
            BASE_URL = https://exchange.example.com/
            [kyc-provider-kych]
            LOGIC = oauth2
            PROVIDED_CHECKS = KYCH_IDENTITY
            KYC_OAUTH2_AUTHORIZE_URL = https://kych.example.com/authorize
            KYC_OAUTH2_TOKEN_URL = https://kych.example.com/token
            KYC_OAUTH2_INFO_URL = https://kych.example.com/info
            KYC_OAUTH2_CLIENT_ID = exchange_production
            KYC_OAUTH2_CLIENT_SECRET = secret-token:your-secure-secret
            KYC_OAUTH2_POST_URL = https://kych.example.com
            [kyc-rule-withdraw]
            ENABLED = YES
            OPERATION_TYPE = WITHDRAW
            THRESHOLD = EUR:1000
            TIMEFRAME = 30 days
            NEXT_MEASURES = kych-identity
            """, path: "manual", environment: [:])
        let problems = ExchangeKYCRules.problems(in: manual)
        #expect(problems.contains("[kyc-provider-kych] lacks KYC_OAUTH2_VALIDITY"))
        #expect(problems.contains("[kyc-provider-kych] lacks KYC_OAUTH2_CONVERTER_HELPER"))
        #expect(problems.contains("[kyc-rule-withdraw] THRESHOLD EUR:1000 is not in the currency CHF"))
        #expect(problems.contains("[kyc-rule-withdraw] NEXT_MEASURES names no [kyc-measure-kych-identity]"))
    }

    /// The KyCH client sample matches the provider: id, secret, the redirect URI the exchange sends, the error it
    /// records as a failed check.
    @Test func kychClientSampleMatchesTheProvider() throws {
        let exchange = try Self.exchangeConfig()
        let provider = try #require(exchange.sections.first { $0.name.lowercased().hasPrefix("kyc-provider-") })
        let providerName = String(provider.name.dropFirst("kyc-provider-".count))
        let baseURL = try #require(exchange.section("exchange")?.entry("BASE_URL")?.value)
        let client = try #require(try Self.iniBlock(after: "## The matching KyCH client").section("client_exchange"))
        #expect(client.entry("REDIRECT_URI")?.value == "\(baseURL)kyc-proof/\(providerName)")
        #expect(client.entry("CLIENT_ID")?.value == provider.entry("KYC_OAUTH2_CLIENT_ID")?.value)
        #expect(client.entry("CLIENT_SECRET")?.value == provider.entry("KYC_OAUTH2_CLIENT_SECRET")?.value)
        #expect(client.entry("FAILURE_ERROR")?.value == "unauthorized_client")
    }
}

/// What the exchange checks in its `[kyc-provider-*]`, `[kyc-check-*]`, `[kyc-measure-*]`, `[aml-program-*]` and
/// `[kyc-rule-*]` sections before it starts (TALER_KYCLOGIC_kyc_init), except running the AML programs' `-a/-i/-r`.
enum ExchangeKYCRules {
    static let oauth2Keys = ["KYC_OAUTH2_VALIDITY", "KYC_OAUTH2_CLIENT_ID", "KYC_OAUTH2_TOKEN_URL", "KYC_OAUTH2_AUTHORIZE_URL",
                             "KYC_OAUTH2_INFO_URL", "KYC_OAUTH2_CLIENT_SECRET", "KYC_OAUTH2_POST_URL", "KYC_OAUTH2_CONVERTER_HELPER"]
    static let checkTypes: Set = ["INFO", "LINK", "FORM"]
    static let operationTypes: Set = ["WITHDRAW", "DEPOSIT", "MERGE", "BALANCE", "CLOSE", "AGGREGATE", "TRANSACTION", "REFUND"]

    static func problems(in config: IniFile) -> [String] {
        var problems: [String] = []
        func sections(_ prefix: String) -> [String: IniFile.Section] {
            Dictionary(config.sections.filter { $0.name.lowercased().hasPrefix(prefix) }
                .map { (String($0.name.dropFirst(prefix.count)).lowercased(), $0) }) { first, _ in first }
        }
        let providers = sections("kyc-provider-"), checks = sections("kyc-check-"), measures = sections("kyc-measure-")
        let programs = sections("aml-program-"), rules = sections("kyc-rule-")
        func require(_ section: IniFile.Section, _ key: String) -> String? {
            guard let value = section.entry(key)?.value else { problems.append("[\(section.name)] lacks \(key)"); return nil }
            return value
        }
        func jsonObject(_ value: String) -> [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(value.utf8))) as? [String: Any]
        }
        func tokens(_ value: String) -> [String] { value.split(whereSeparator: { "; \t\n".contains($0) }).map(String.init) }
        /// A fallback measure: it exists, has no check (SKIP), and its program exists.
        func checkFallback(_ name: String, of section: IniFile.Section) {
            guard let measure = measures[name.lowercased()] else {
                problems.append("[\(section.name)] FALLBACK names no [kyc-measure-\(name)]"); return
            }
            if (measure.entry("CHECK_NAME")?.value ?? "SKIP").uppercased() != "SKIP" {
                problems.append("[\(section.name)] FALLBACK \(name) has a check; fallbacks must have CHECK_NAME = SKIP")
            }
        }
        let currency = config.section("exchange")?.entry("CURRENCY")?.value
        if currency == nil { problems.append("[exchange] lacks CURRENCY") }
        if config.section("exchange")?.entry("BASE_URL") == nil { problems.append("[exchange] lacks BASE_URL") }

        for provider in providers.values {
            if let logic = require(provider, "LOGIC"), logic.lowercased() == "oauth2" {
                for key in oauth2Keys { _ = require(provider, key) }
            }
        }
        for (name, check) in checks {
            if name == "skip" { problems.append("[\(check.name)] must not exist: skip is the built-in check") }
            _ = require(check, "DESCRIPTION")
            if let i18n = check.entry("DESCRIPTION_I18N")?.value, jsonObject(i18n) == nil {
                problems.append("[\(check.name)] DESCRIPTION_I18N is not a JSON object")
            }
            if let fallback = require(check, "FALLBACK") { checkFallback(fallback, of: check) }
            switch require(check, "TYPE")?.uppercased() {
            case "LINK"?:
                if let provider = require(check, "PROVIDER_ID"), providers[provider.lowercased()] == nil {
                    problems.append("[\(check.name)] PROVIDER_ID names no [kyc-provider-\(provider)]")
                }
            case "FORM"?: _ = require(check, "FORM_NAME")
            case let type? where !checkTypes.contains(type): problems.append("[\(check.name)] TYPE \(type) is not INFO, LINK or FORM")
            default: break
            }
        }
        for measure in measures.values {
            let context = require(measure, "CONTEXT").flatMap { value -> [String: Any]? in
                guard let object = jsonObject(value) else { problems.append("[\(measure.name)] CONTEXT is not a JSON object"); return nil }
                return object
            }
            if let program = require(measure, "PROGRAM"), programs[program.lowercased()] == nil {
                problems.append("[\(measure.name)] PROGRAM names no [aml-program-\(program)]")
            }
            let checkName = measure.entry("CHECK_NAME")?.value ?? "SKIP"
            guard checkName.uppercased() != "SKIP" else { continue }
            guard let check = checks[checkName.lowercased()] else {
                problems.append("[\(measure.name)] CHECK_NAME names no [kyc-check-\(checkName)]"); continue
            }
            for input in tokens(check.entry("REQUIRES")?.value ?? "") where context?[input] == nil {
                problems.append("[\(measure.name)] CONTEXT lacks \(input), required by [\(check.name)]")
            }
        }
        for program in programs.values {
            _ = require(program, "COMMAND")
            _ = require(program, "DESCRIPTION")
            if let fallback = require(program, "FALLBACK") { checkFallback(fallback, of: program) }
        }
        for rule in rules.values where ["yes", "true"].contains(rule.entry("ENABLED")?.value.lowercased()) {
            if let combinator = rule.entry("IS_AND_COMBINATOR")?.value, !["yes", "no", "true", "false"].contains(combinator.lowercased()) {
                problems.append("[\(rule.name)] IS_AND_COMBINATOR must be YES or NO")
            }
            let operation = require(rule, "OPERATION_TYPE")?.uppercased()
            if let operation, !operationTypes.contains(operation) { problems.append("[\(rule.name)] OPERATION_TYPE \(operation) is not valid") }
            if let threshold = require(rule, "THRESHOLD") {
                let parts = threshold.split(separator: ":", maxSplits: 1)
                if parts.count != 2 || Decimal(string: String(parts[1])) == nil {
                    problems.append("[\(rule.name)] THRESHOLD \(threshold) is not an amount")
                } else if let currency, parts[0].uppercased() != currency.uppercased() {
                    problems.append("[\(rule.name)] THRESHOLD \(threshold) is not in the currency \(currency)")
                }
            }
            if rule.entry("TIMEFRAME") == nil && operation != "BALANCE" { problems.append("[\(rule.name)] lacks TIMEFRAME") }
            for measure in tokens(require(rule, "NEXT_MEASURES") ?? "") where measure.lowercased() != "verboten" {
                if measures[measure.lowercased()] == nil { problems.append("[\(rule.name)] NEXT_MEASURES names no [kyc-measure-\(measure)]") }
            }
        }
        return problems
    }
}
