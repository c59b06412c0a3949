/// A witness that is a shell command (`--witness-cmd`, e.g. an ssh to
/// another host): `/bin/sh -c COMMAND` gets each checkpoint on standard input
/// and has `timeout` seconds, input included (`ChildCommand`); exit 0 is
/// delivered, anything else failed, still running at the deadline timed out
/// (killed with its process group).
public struct WitnessCommand: Witness {
    public let command: String
    public let timeout: Double

    public init(_ command: String, timeout: Double = 10) {
        self.command = command
        self.timeout = timeout
    }

    public var name: String { "witness command \(command)" }

    public func deliver(_ checkpoint: String, cancelled: @escaping @Sendable () -> Bool) -> WitnessOutcome {
        switch ChildCommand.run(["/bin/sh", "-c", command], input: Array(checkpoint.utf8),
                                timeoutNs: Int64(timeout * 1e9), cancelled: cancelled) {
        case .succeeded: .delivered
        case .timedOut:
            cancelled() ? .timedOut("witness command killed at unmount, still running: \(command)")
                : .timedOut("witness command timed out after \(Self.seconds(timeout)) s: \(command)")
        case let .exited(code): .failed("witness command exited \(code): \(command)")
        case let .notStarted(why): .failed("witness command could not start (\(why)): \(command)")
        }
    }

    private static func seconds(_ t: Double) -> String { t == t.rounded() ? String(Int(t)) : String(t) }
}
