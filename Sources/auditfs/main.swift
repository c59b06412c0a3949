import ArgumentParser
import Foundation
import AuditCLI

struct AuditFS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auditfs",
        abstract: "Write-once audit storage: create and append, never change or remove.",
        version: AuditFSVersion.string,
        subcommands: StoreCommands.all + [MountCommand.self])
}

exit(CommandLineMain.run(AuditFS.self))
