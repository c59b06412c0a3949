import ArgumentParser
import Foundation
import AuditCLI

/// The checker alone: builds and runs without libfuse.
struct AuditFSCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auditfs-check",
        abstract: "Verify and read an auditfs store offline.",
        version: AuditFSVersion.string,
        subcommands: StoreCommands.readOnly)
}

exit(CommandLineMain.run(AuditFSCheck.self))
