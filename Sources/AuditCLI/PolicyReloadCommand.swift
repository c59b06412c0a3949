import ArgumentParser
import AuditPlumbing
import AuditPolicy
import AuditRecords
import AuditStore
import Foundation

struct PolicyReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make the daemon serving a mount point re-read its policy file, and wait for the outcome.",
        discussion: """
            The same as SIGHUP to the daemon (its pid is in /run/auditfs/KEY.pid), but waits until the \
            outcome is recorded in MOUNTPOINT/.audit/policy/changes.jsonl and prints it. An invalid file \
            is rejected and the policy in force stays: the parse error is printed as FILE:LINE:COLUMN and \
            the exit status is 1.
            """)

    @Argument(help: "The mount point of a running `auditfs mount`.") var mountpoint: String

    func run() throws {
        let reply: PolicyControl.ReloadReply
        do {
            reply = try PolicyControl.requestReload(mountpoint: mountpoint)
        } catch {
            throw CommandFailure(error.message)
        }
        let short = { (s: String?) in s.map { String($0.prefix(12)) } ?? "none" }
        switch reply.outcome {
        case "accepted":
            print("reloaded: policy \(short(reply.previous)) -> \(short(reply.new))")
            if let c = reply.changes {
                for a in c.assigned { print("  assigned: role '\(a.role)' to \(a.subject)") }
                for a in c.revoked { print("  revoked: role '\(a.role)' from \(a.subject)") }
                for r in c.rolesAdded { print("  role added: \(r)") }
                for r in c.rolesRemoved { print("  role removed: \(r)") }
                for r in c.rulesAdded { print("  rule added to '\(r.role)': \(r.verbs.joined(separator: ",")) on \(r.paths.joined(separator: " "))") }
                for r in c.rulesRemoved { print("  rule removed from '\(r.role)': \(r.verbs.joined(separator: ",")) on \(r.paths.joined(separator: " "))") }
            }
        case "unchanged":
            print("reloaded: policy unchanged (\(short(reply.new)))")
        default:
            ErrorLine.write(line: "auditfs: policy reload rejected, the policy in force (\(short(reply.previous))) stays: \(TerminalText.escape(reply.error ?? "unknown reason"))")
            throw ExitCode(1)
        }
    }
}
