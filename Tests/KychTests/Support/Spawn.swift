import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts `arguments` (an absolute program path first) with posix_spawn, for children Foundation's `Process` handles
/// badly: it hands on the signal mask of the (dispatch) thread that starts it, with SIGTERM blocked, and waits for a
/// child until every inheritor of its descriptors is gone (a daemon it starts is one). Here the signal mask is empty,
/// standard input is /dev/null and standard output and error go to the file `output`. The caller reaps the returned
/// pid with `waitpid`.
func spawn(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment, output: String) throws -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv = arguments.map { strdup($0) } + [nil], envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
    guard spawned == 0 else { throw TestSetupError("posix_spawn \(arguments[0]): \(String(cString: strerror(spawned)))") }
    return pid
}
