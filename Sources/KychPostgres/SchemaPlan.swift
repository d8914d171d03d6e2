import KychCore

/// The schemas a configuration file needs, per database: the gateway's for
/// `[kych-oauth2-gateway]`, the built-in verifier's for `[kych-verifier]`. PostgreSQL gets the patch
/// files; SQLite has no patches (its tables are created in code), `schemas` names what `--reset` drops.
package struct SchemaPlan: Sendable {
    package var location: DatabaseLocation
    package var patches: [String]
    package var schemas: [String]

    /// One plan per distinct database. A file without either section is read as a gateway
    /// configuration, so its error names the missing `[kych-oauth2-gateway]` section.
    package static func plans(configPath: String) throws -> [SchemaPlan] {
        let ini = try CLISupport.loadFile(configPath)
        var gatewayDatabase: String?
        var verifier: VerifierConfig?
        var plans: [SchemaPlan] = []
        if ini.section(GatewayConfig.mainSection) != nil || ini.section(VerifierConfig.section) == nil {
            let gateway = try CLISupport.gatewayConfig(ini)
            gatewayDatabase = gateway.database
            verifier = gateway.verifier
            plans.append(SchemaPlan(location: try DatabaseLocation(parsing: gateway.database),
                                    patches: SchemaInstaller.gatewayPatches, schemas: SchemaInstaller.gatewaySchemas))
        } else {
            verifier = try CLISupport.verifierConfig(ini)
        }
        if let verifier {
            guard let database = verifier.database.isEmpty ? gatewayDatabase : verifier.database else {
                throw CLIError("[kych-verifier] has no DATABASE and there is no [kych-oauth2-gateway] to share one with")
            }
            let location = try DatabaseLocation(parsing: database)
            if let index = plans.firstIndex(where: { $0.location == location }) {
                plans[index].patches += SchemaInstaller.verifierPatches
                plans[index].schemas += SchemaInstaller.verifierSchemas
            } else {
                plans.append(SchemaPlan(location: location, patches: SchemaInstaller.verifierPatches, schemas: SchemaInstaller.verifierSchemas))
            }
        }
        return plans
    }
}
