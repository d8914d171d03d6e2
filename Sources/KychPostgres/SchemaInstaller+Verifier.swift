extension SchemaInstaller {
    /// The patch files of the built-in verifier (`[kych-verifier]`), in order.
    package static let verifierPatches = ["verifier-0001", "verifier-0002"]
    /// Schemas of the built-in verifier that `--reset` drops.
    package static let verifierSchemas = ["verifier"]
}
