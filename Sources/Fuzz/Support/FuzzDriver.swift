import Foundation

/// One fuzz target: a parser of untrusted input run on arbitrary bytes, with the invariants it must keep.
package protocol FuzzTarget {
    /// The name in `kych-fuzz-<name>` and `Tests/Fuzz/corpus/<name>/`.
    static var name: String { get }
    /// Runs one input; `true` when the parser accepted it (the replay mode counts them, so a test can tell
    /// that the corpus reaches past the first checks). A broken invariant stops the process with `FuzzCheck`.
    static func run(_ input: Data) -> Bool
    /// Seed inputs made by our own issuer, wallet and encoders, by file name (`--seeds DIR` writes them).
    static func seeds() throws -> [String: Data]
}

extension FuzzTarget {
    package static func seeds() throws -> [String: Data] { [:] }

    /// Each target is its executable's `@main`.
    package static func main() {
        FuzzDriver.main(Self.self)
    }
}

/// The target this process runs, set once by `FuzzDriver.main` before libFuzzer starts.
nonisolated(unsafe) private var activeTarget: (any FuzzTarget.Type)?

/// libFuzzer's entry: one input through the active target.
@_cdecl("LLVMFuzzerTestOneInput")
package func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    _ = activeTarget?.run(FuzzDriver.input(bytes, count))
    return 0
}

/// A broken invariant: crashes, so libFuzzer saves the input as a crash artifact and a replay fails.
package enum FuzzCheck {
    package static func require(_ condition: Bool, _ message: @autoclosure () -> String,
                                file: StaticString = #fileID, line: UInt = #line) {
        if !condition { fatalError("invariant broken: \(message())", file: file, line: line) }
    }
}

/// What every `kych-fuzz-*` executable runs. Built with `-D KYCH_FUZZ` and `-sanitize=fuzzer` (scripts/fuzz), it
/// hands `testOneInput` to libFuzzer, which takes the command line. In the normal build it replays inputs instead:
/// `kych-fuzz-NAME FILE|DIR…` runs each file (directories recursively) through the same function. In both builds
/// `kych-fuzz-NAME --seeds DIR` writes the target's generated seeds.
package enum FuzzDriver {
    /// The bytes libFuzzer passes, as `Data`.
    package static func input(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Data {
        guard let bytes, count > 0 else { return Data() }
        return Data(bytes: bytes, count: count)
    }

    static func main<Target: FuzzTarget>(_ target: Target.Type) -> Never {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--seeds", arguments.count == 2 {
            exit(writeSeeds(target, to: URL(fileURLWithPath: arguments[1])))
        }
        #if KYCH_FUZZ
        activeTarget = target
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
        #else
        exit(replay(target, arguments: arguments))
        #endif
    }

    static func replay<Target: FuzzTarget>(_ target: Target.Type, arguments: [String]) -> Int32 {
        guard !arguments.isEmpty, !arguments.contains(where: { $0.hasPrefix("-") }) else {
            FileHandle.standardError.write(Data("usage: kych-fuzz-\(Target.name) FILE|DIR… | --seeds DIR\n".utf8))
            return 2
        }
        var total = 0, accepted = 0
        for path in arguments.flatMap(files) {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("kych-fuzz-\(Target.name): cannot read \(path)\n".utf8))
                return 1
            }
            // Named before it runs, so that the last output before a crash says which input it was.
            FileHandle.standardOutput.write(Data("\(path): ".utf8))
            let ok = Target.run(data)
            FileHandle.standardOutput.write(Data((ok ? "accepted\n" : "rejected\n").utf8))
            total += 1
            if ok { accepted += 1 }
        }
        FileHandle.standardOutput.write(Data("kych-fuzz-\(Target.name): \(total) inputs, \(accepted) accepted\n".utf8))
        return 0
    }

    /// `path` itself, or the regular files below it in name order.
    private static func files(_ path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let entries = (try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? []
        return entries.sorted().map { path + "/" + $0 }.filter { entry in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: entry, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }

    private static func writeSeeds<Target: FuzzTarget>(_ target: Target.Type, to directory: URL) -> Int32 {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for (name, data) in try Target.seeds() {
                try data.write(to: directory.appendingPathComponent(name))
            }
            return 0
        } catch {
            FileHandle.standardError.write(Data("kych-fuzz-\(Target.name): \(error)\n".utf8))
            return 1
        }
    }
}

#if KYCH_FUZZ
/// libFuzzer's entry for programs with their own `main` (SwiftPM links every executable's `main` itself).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif
