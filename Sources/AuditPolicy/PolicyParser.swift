import AuditPlumbing
import Yams
import Glibc

/// Reads a policy file with Yams and checks its shape, reporting every
/// problem with its line and column.
public enum PolicyParser {
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var column: Int
        public var message: String
        public var description: String { "\(line):\(column): \(message)" }
    }

    public struct Result: Sendable {
        public var policy: AccessPolicy
        public var warnings: [Problem]
    }

    /// The first error found, with every warning seen before it.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var errors: [Problem]
        public var description: String { errors.map(\.description).joined(separator: "\n") }
    }

    public static let apiVersion = "auditfs/v1"

    public static func parse(_ text: String) throws(Failure) -> Result {
        var p = Parsing()
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw Failure(errors: [Problem(line: 1, column: 1, message: "the policy is empty")])
            }
            root = node
        } catch let f as Failure {
            throw f
        } catch let e as YamlError {
            throw Failure(errors: [p.yamlProblem(e)])
        } catch {
            throw Failure(errors: [Problem(line: 1, column: 1, message: "\(error)")])
        }
        let policy = p.policy(root, text: text)
        if !p.errors.isEmpty { throw Failure(errors: p.errors) }
        return Result(policy: policy!, warnings: p.warnings)
    }

    private struct Parsing {
        var errors: [Problem] = []
        var warnings: [Problem] = []

        mutating func error(_ node: Node?, _ message: String) {
            errors.append(Problem(line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1, message: message))
        }

        mutating func warn(_ node: Node?, _ message: String) {
            warnings.append(Problem(line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1, message: message))
        }

        func yamlProblem(_ e: YamlError) -> Problem {
            switch e {
            case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
                return Problem(line: mark.line, column: mark.column, message: "YAML: \(problem)")
            default:
                return Problem(line: 1, column: 1, message: "YAML: \(e)")
            }
        }

        /// The mapping's entries by key, refusing unknown and duplicate keys.
        mutating func fields(_ node: Node, _ what: String, allowed: [String], required: [String]) -> [String: Node]? {
            guard let mapping = node.mapping else { error(node, "\(what) must be a mapping"); return nil }
            var out: [String: Node] = [:]
            for (k, v) in mapping {
                guard let key = k.scalar?.string else { error(k, "\(what): keys must be plain words"); continue }
                guard allowed.contains(key) else {
                    error(k, "\(what): unknown key '\(key)' (expected \(allowed.joined(separator: ", ")))"); continue
                }
                if out[key] != nil { error(k, "\(what): '\(key)' appears twice"); continue }
                out[key] = v
            }
            for key in required where out[key] == nil { error(node, "\(what): '\(key)' is missing") }
            return out
        }

        mutating func string(_ node: Node, _ what: String) -> String? {
            guard let s = node.scalar?.string, !s.isEmpty else { error(node, "\(what) must be a non-empty string"); return nil }
            return s
        }

        mutating func list(_ node: Node, _ what: String, mayBeEmpty: Bool = false) -> [Node] {
            guard let seq = node.sequence else { error(node, "\(what) must be a list"); return [] }
            if seq.isEmpty && !mayBeEmpty { error(node, "\(what) is empty") }
            return Array(seq)
        }

        mutating func policy(_ root: Node, text: String) -> AccessPolicy? {
            guard let top = fields(root, "policy", allowed: ["apiVersion", "roles", "bindings", "alerts"], required: ["apiVersion", "roles", "bindings"]) else {
                return nil
            }
            if let v = top["apiVersion"], let s = string(v, "apiVersion"), s != PolicyParser.apiVersion {
                error(v, "apiVersion '\(s)' is not supported (expected \(PolicyParser.apiVersion))")
            }
            var roles: [AccessPolicy.Role] = []
            var roleNodes: [String: Node] = [:]
            for r in top["roles"].map({ list($0, "roles", mayBeEmpty: true) }) ?? [] {
                guard let f = fields(r, "role", allowed: ["name", "rules"], required: ["name", "rules"]),
                      let nameNode = f["name"], let name = string(nameNode, "role name") else { continue }
                if roleNodes[name] != nil { error(nameNode, "role '\(name)' is defined twice") }
                roleNodes[name] = nameNode
                var rules: [AccessPolicy.Rule] = []
                for ruleNode in f["rules"].map({ list($0, "rules of role '\(name)'") }) ?? [] {
                    if let rule = rule(ruleNode, role: name) { rules.append(rule) }
                }
                roles.append(AccessPolicy.Role(name: name, rules: rules, line: nameNode.mark?.line ?? 0))
            }
            var bindings: [AccessPolicy.Binding] = []
            var used: Set<String> = []
            for b in top["bindings"].map({ list($0, "bindings", mayBeEmpty: true) }) ?? [] {
                guard let f = fields(b, "binding", allowed: ["role", "subjects"], required: ["role", "subjects"]),
                      let roleNode = f["role"], let role = string(roleNode, "binding role") else { continue }
                if roleNodes[role] == nil { error(roleNode, "binding names role '\(role)', which is not defined") }
                used.insert(role)
                var subjects: [Subject] = []
                for s in f["subjects"].map({ list($0, "subjects") }) ?? [] {
                    if let subject = subject(s) { subjects.append(subject) }
                }
                bindings.append(AccessPolicy.Binding(role: role, subjects: subjects, line: roleNode.mark?.line ?? 0))
            }
            for (name, node) in roleNodes where !used.contains(name) {
                warn(node, "role '\(name)' is not used by any binding")
            }
            var alerts: [AlertRule] = []
            var alertNames: Set<String> = []
            for a in top["alerts"].map({ list($0, "alerts", mayBeEmpty: true) }) ?? [] {
                guard let rule = alert(a) else { continue }
                if !alertNames.insert(rule.name).inserted { error(a, "alert '\(rule.name)' is defined twice") }
                alerts.append(rule)
            }
            warnings.sort { ($0.line, $0.column) < ($1.line, $1.column) }
            return AccessPolicy(roles: roles, bindings: bindings, text: text, alerts: alerts)
        }

        mutating func alert(_ node: Node) -> AlertRule? {
            guard let f = fields(node, "alert", allowed: ["name", "on", "severity", "moreThan", "within", "paths", "actions"],
                                 required: ["name", "on", "actions"]),
                  let nameNode = f["name"], let name = string(nameNode, "alert name"),
                  let onNode = f["on"], let on = string(onNode, "on") else { return nil }
            guard let event = AlertRule.Event(rawValue: on) else {
                error(onNode, "alert '\(name)': unknown event '\(on)' (expected one of \(AlertRule.Event.allCases.map(\.rawValue).joined(separator: ", ")))")
                return nil
            }
            var rate: AlertRule.Rate?
            switch (f["moreThan"], f["within"]) {
            case (nil, nil): break
            case let (m?, w?):
                guard event == .deny else { error(m, "alert '\(name)': moreThan/within apply to 'on: deny' only"); return nil }
                guard let n = m.scalar.flatMap({ Int($0.string) }), (0...AlertRule.Rate.maxMoreThan).contains(n) else {
                    error(m, "alert '\(name)': moreThan must be a number from 0 to \(AlertRule.Rate.maxMoreThan)"); return nil
                }
                guard let s = w.scalar?.string, let ns = Timestamps.duration(s), ns > 0, ns <= Timestamps.maxDuration else {
                    error(w, "alert '\(name)': within must be a duration like 30s, 5m, 1h, at most \(Timestamps.maxDurationText)"); return nil
                }
                rate = AlertRule.Rate(moreThan: n, withinNs: ns)
            case let (m?, nil): error(m, "alert '\(name)': moreThan needs within"); return nil
            case let (nil, w?): error(w, "alert '\(name)': within needs moreThan"); return nil
            }
            var severity = AlertRule.Severity.defaultFor(event, rate: rate != nil)
            if let s = f["severity"] {
                guard let text = string(s, "severity"), let v = AlertRule.Severity(rawValue: text) else {
                    error(s, "alert '\(name)': unknown severity (expected one of \(AlertRule.Severity.allCases.map(\.rawValue).joined(separator: ", ")))")
                    return nil
                }
                severity = v
            }
            var globs: [PathGlob] = []
            if let p = f["paths"] {
                guard event == .deny || event == .tamper else { error(p, "alert '\(name)': paths apply to deny and tamper only"); return nil }
                for g in list(p, "paths") {
                    guard let s = string(g, "a path glob") else { continue }
                    do { globs.append(try PathGlob(s)) } catch { self.error(g, error.reason) }
                }
            }
            var actions: [AlertRule.Action] = []
            for a in f["actions"].map({ list($0, "actions of alert '\(name)'") }) ?? [] {
                if let action = alertAction(a, alert: name) { actions.append(action) }
            }
            return AlertRule(name: name, event: event, severity: severity, rate: rate, paths: globs, actions: actions,
                             line: nameNode.mark?.line ?? 0)
        }

        mutating func alertAction(_ node: Node, alert: String) -> AlertRule.Action? {
            let what = "action of alert '\(alert)'"
            guard let f = fields(node, what, allowed: ["syslog", "command", "file"], required: []) else { return nil }
            guard f.count == 1, let (key, value) = f.first else { error(node, "an \(what) is exactly one of syslog, command, file"); return nil }
            switch key {
            case "syslog":
                guard let o = fields(value, "syslog \(what)", allowed: ["facility", "socket"], required: []) else { return nil }
                var facility = AlertRule.facilities["auth"]!
                if let fn = o["facility"] {
                    guard let s = string(fn, "facility"), let n = AlertRule.facilities[s] else {
                        error(fn, "unknown syslog facility (expected one of \(AlertRule.facilities.keys.sorted().joined(separator: ", ")))")
                        return nil
                    }
                    facility = n
                }
                var socket: String?
                if let sn = o["socket"] {
                    guard let s = string(sn, "socket"), s.hasPrefix("/") else { error(sn, "socket must be an absolute path"); return nil }
                    socket = s
                }
                return .syslog(facility: facility, socket: socket)
            case "command":
                guard let o = fields(value, "command \(what)", allowed: ["run", "timeout"], required: ["run"]) else { return nil }
                var argv: [String] = []
                for a in o["run"].map({ list($0, "run") }) ?? [] {
                    guard let s = a.scalar?.string else { error(a, "run must be a list of strings (no shell)"); return nil }
                    argv.append(s)
                }
                guard let first = argv.first else { return nil }
                if !first.hasPrefix("/") { error(o["run"], "the command must be an absolute path, found '\(first)'"); return nil }
                var timeout = AlertRule.defaultCommandTimeoutNs
                if let t = o["timeout"] {
                    guard let s = t.scalar?.string, let ns = Timestamps.duration(s), ns > 0, ns <= Timestamps.maxDuration else {
                        error(t, "timeout must be a duration like 500ms, 5s, 1m, at most \(Timestamps.maxDurationText)"); return nil
                    }
                    timeout = ns
                }
                return .command(argv: argv, timeoutNs: timeout)
            default:
                guard let s = string(value, "file"), s.hasPrefix("/") else { error(value, "file must be an absolute path"); return nil }
                return .file(path: s)
            }
        }

        mutating func rule(_ node: Node, role: String) -> AccessPolicy.Rule? {
            guard let f = fields(node, "rule of role '\(role)'", allowed: ["paths", "verbs"], required: ["paths", "verbs"]) else { return nil }
            var globs: [PathGlob] = []
            for p in f["paths"].map({ list($0, "paths") }) ?? [] {
                guard let s = string(p, "a path glob") else { continue }
                do { globs.append(try PathGlob(s)) } catch { self.error(p, error.reason) }
            }
            var verbs: Set<Verb> = []
            for v in f["verbs"].map({ list($0, "verbs") }) ?? [] {
                guard let s = string(v, "a verb") else { continue }
                guard let verb = Verb(rawValue: s) else {
                    error(v, Verb.unknown(s))
                    continue
                }
                verbs.insert(verb)
            }
            return AccessPolicy.Rule(paths: globs, verbs: verbs, line: node.mark?.line ?? 0)
        }

        mutating func subject(_ node: Node) -> Subject? {
            guard let f = fields(node, "subject", allowed: ["user", "group", "uid", "gid", "everyone"], required: []) else { return nil }
            guard f.count == 1, let (key, value) = f.first else {
                error(node, "a subject names exactly one of user, group, uid, gid, everyone"); return nil
            }
            switch key {
            case "user":
                guard let name = string(value, "user") else { return nil }
                let uid = SystemUsers.uid(ofUser: name)
                if uid == nil { warn(value, "user '\(name)' does not exist on this host; the subject matches nobody") }
                return .user(name: name, uid: uid)
            case "group":
                guard let name = string(value, "group") else { return nil }
                let gid = SystemUsers.gid(ofGroup: name)
                if gid == nil { warn(value, "group '\(name)' does not exist on this host; the subject matches nobody") }
                return .group(name: name, gid: gid)
            case "uid", "gid":
                guard let s = value.scalar?.string, let n = UInt32(s) else { error(value, "\(key) must be a number"); return nil }
                return key == "uid" ? .uid(n) : .gid(n)
            default:
                guard value.scalar?.string == "true" else { error(value, "everyone must be true"); return nil }
                return .everyone
            }
        }
    }
}

extension SystemUsers {
    /// The principal a login of `user` (a name or a numeric uid) would have:
    /// its uid, primary gid and supplementary groups.
    public static func principal(forUser user: String) -> Principal? {
        account(user).map { Principal(uid: $0.uid, gid: $0.gid, groups: $0.groups) }
    }
}
