import ArgumentParser
import AuditPlumbing
import AuditPolicy
import AuditStore
import Foundation

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check a permission policy, explain one of its decisions, or reload it on a mount.",
        subcommands: [PolicyCheckCommand.self, PolicyExplainCommand.self, PolicyReloadCommand.self])
}

/// Reads and parses a policy file, printing problems as FILE:LINE:COLUMN.
func loadPolicy(_ file: String, printWarnings: Bool = true) throws(CommandFailure) -> AccessPolicy {
    guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read policy file '\(file)'") }
    guard let text = String(data: data, encoding: .utf8) else { throw CommandFailure("policy file '\(file)' is not UTF-8") }
    do {
        let result = try PolicyParser.parse(text)
        if printWarnings { for w in result.warnings { ErrorLine.write(line: "\(file):\(w.line):\(w.column): warning: \(w.message)") } }
        return result.policy
    } catch {
        for e in error.errors { ErrorLine.write(line: "\(file):\(e.line):\(e.column): error: \(e.message)") }
        throw .reported(code: 1)
    }
}

struct PolicyCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a policy file: exit 0 when it is valid; errors and warnings name line and column.")

    @Argument(help: "The policy file (YAML).") var file: String

    func run() throws {
        let policy = try loadPolicy(file)
        let rules = policy.roles.reduce(0) { $0 + $1.rules.count }
        print("\(file): valid: \(policy.roles.count) roles, \(rules) rules, \(policy.bindings.count) bindings (sha256 \(policy.sha256))")
    }
}

struct PolicyExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Print the decision for a user, a path and a verb, and the role, binding and rule that made it.")

    @Argument(help: "The policy file (YAML).") var file: String
    @Option(help: "User name or numeric uid (their groups come from the user database).") var user: String
    @Option(help: "Path on the mount, e.g. /nginx/access.log.") var path: String
    @Option(help: "One of: \(Verb.allCases.map(\.rawValue).joined(separator: ", ")).") var verb: String

    func run() throws {
        guard let v = Verb(rawValue: verb) else {
            throw CommandFailure(Verb.unknown(verb))
        }
        let p = try parsePath(path)
        guard let who = SystemUsers.principal(forUser: user) else { throw CommandFailure("unknown user '\(user)'") }
        let policy = try loadPolicy(file, printWarnings: false)
        let d = policy.decide(who, v, p)
        let name = SystemUsers.userName(who.uid) ?? "uid \(who.uid)"
        let groups = ([who.gid] + who.groups).reduce(into: [UInt32]()) { if !$0.contains($1) { $0.append($1) } }
            .map { SystemUsers.groupName($0) ?? String($0) }.joined(separator: ",")
        if d.granted {
            print("grant: \(name) (uid \(who.uid), groups \(groups)) may \(v.rawValue) \(p)")
            print("  by role '\(d.role!)' (\(file):\(policy.roles.first { $0.name == d.role }!.line)), binding #\(d.binding! + 1) (\(file):\(d.bindingLine!)), rule at \(file):\(d.ruleLine!) matching '\(d.glob!)'")
        } else {
            print("deny: \(name) (uid \(who.uid), groups \(groups)) may not \(v.rawValue) \(p)")
            print("  no binding of this user or their groups has a role with a rule granting '\(v.rawValue)' on a glob matching \(p) (default deny)")
            throw ExitCode(1)
        }
    }
}
