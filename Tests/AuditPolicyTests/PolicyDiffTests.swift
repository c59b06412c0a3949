import Foundation
import Testing
@testable import AuditPolicy

@Suite struct PolicyDiffTests {
    static func policy(_ yaml: String) throws -> AccessPolicy { try PolicyParser.parse(yaml).policy }

    static let base = """
        apiVersion: auditfs/v1
        roles:
          - name: log-writer
            rules:
              - paths: ["/nginx/**", "/app/*.log"]
                verbs: [create, append, mkdir]
          - name: auditor
            rules:
              - paths: ["/**"]
                verbs: [read, list]
        bindings:
          - role: log-writer
            subjects: [{user: root}, {gid: 4}, {uid: 1001}]
          - role: auditor
            subjects: [{gid: 4242}]

        """

    @Test func firstLoadAssignsEverything() throws {
        let d = PolicyDiff(from: nil, to: try Self.policy(Self.base))
        #expect(d.assigned.map { "\($0.role) \($0.subject)" } == [
            "auditor gid:4242", "log-writer gid:4", "log-writer uid:1001", "log-writer user:root",
        ])
        #expect(d.revoked.isEmpty && d.rolesRemoved.isEmpty && d.rulesRemoved.isEmpty)
        #expect(d.rolesAdded == ["auditor", "log-writer"])
        #expect(d.rulesAdded == [
            .init(role: "auditor", paths: ["/**"], verbs: ["list", "read"]),
            .init(role: "log-writer", paths: ["/app/*.log", "/nginx/**"], verbs: ["append", "create", "mkdir"]),
        ])
    }

    @Test func samePolicyIsNoChange() throws {
        let p = try Self.policy(Self.base)
        #expect(PolicyDiff(from: p, to: p).isEmpty)
        // Reordered subjects, globs and verbs, and moved lines, are no change either.
        let reordered = try Self.policy("""
            apiVersion: auditfs/v1
            # a comment moves every line
            roles:
              - name: auditor
                rules:
                  - paths: ["/**"]
                    verbs: [list, read]
              - name: log-writer
                rules:
                  - paths: ["/app/*.log", "/nginx/**"]
                    verbs: [mkdir, append, create]
            bindings:
              - role: auditor
                subjects: [{gid: 4242}]
              - role: log-writer
                subjects: [{uid: 1001}, {user: root}]
              - role: log-writer
                subjects: [{gid: 4}]

            """)
        #expect(PolicyDiff(from: p, to: reordered).isEmpty)
    }

    @Test func revokingASubjectIsARevocation() throws {
        let old = try Self.policy(Self.base)
        let new = try Self.policy(Self.base.replacingOccurrences(of: "{user: root}, {gid: 4}, ", with: "{gid: 4}, {uid: 1002}, "))
        let d = PolicyDiff(from: old, to: new)
        #expect(d.revoked == [.init(role: "log-writer", subject: "user:root")])
        #expect(d.assigned == [.init(role: "log-writer", subject: "uid:1002")])
        #expect(d.rolesAdded.isEmpty && d.rolesRemoved.isEmpty && d.rulesAdded.isEmpty && d.rulesRemoved.isEmpty)
    }

    @Test func removingABindingRevokesEachSubject() throws {
        let old = try Self.policy(Self.base)
        let new = try Self.policy(Self.base.replacingOccurrences(of: "  - role: auditor\n    subjects: [{gid: 4242}]\n", with: ""))
        let d = PolicyDiff(from: old, to: new)
        #expect(d.revoked == [.init(role: "auditor", subject: "gid:4242")])
        #expect(d.assigned.isEmpty && d.rolesRemoved.isEmpty)
    }

    @Test func changedRuleIsOneRemovedAndOneAdded() throws {
        let old = try Self.policy(Self.base)
        let new = try Self.policy(Self.base.replacingOccurrences(of: "verbs: [read, list]", with: "verbs: [read]"))
        let d = PolicyDiff(from: old, to: new)
        #expect(d.rulesRemoved == [.init(role: "auditor", paths: ["/**"], verbs: ["list", "read"])])
        #expect(d.rulesAdded == [.init(role: "auditor", paths: ["/**"], verbs: ["read"])])
        #expect(d.assigned.isEmpty && d.revoked.isEmpty)
    }

    @Test func removedRoleTakesItsRulesAndAssignments() throws {
        let old = try Self.policy(Self.base)
        let new = try Self.policy("""
            apiVersion: auditfs/v1
            roles:
              - name: log-writer
                rules:
                  - paths: ["/nginx/**", "/app/*.log"]
                    verbs: [create, append, mkdir]
              - name: reader
                rules:
                  - paths: ["/nginx/**"]
                    verbs: [read]
            bindings:
              - role: log-writer
                subjects: [{user: root}, {gid: 4}, {uid: 1001}]
              - role: reader
                subjects: [{gid: 4242}]

            """)
        let d = PolicyDiff(from: old, to: new)
        #expect(d.rolesRemoved == ["auditor"] && d.rolesAdded == ["reader"])
        #expect(d.revoked == [.init(role: "auditor", subject: "gid:4242")])
        #expect(d.assigned == [.init(role: "reader", subject: "gid:4242")])
        #expect(d.rulesRemoved.map(\.role) == ["auditor"] && d.rulesAdded.map(\.role) == ["reader"])
    }

    @Test func duplicateRulesCount() throws {
        let old = try Self.policy(Self.base)
        let new = try Self.policy(Self.base.replacingOccurrences(
            of: "      - paths: [\"/**\"]\n        verbs: [read, list]\n",
            with: "      - paths: [\"/**\"]\n        verbs: [read, list]\n      - paths: [\"/**\"]\n        verbs: [list, read]\n"))
        let d = PolicyDiff(from: old, to: new)
        #expect(d.rulesAdded == [.init(role: "auditor", paths: ["/**"], verbs: ["list", "read"])])
        #expect(d.rulesRemoved.isEmpty)
    }

    @Test func encodesToStableSortedJSON() throws {
        let d = PolicyDiff(from: nil, to: try Self.policy(Self.base))
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let a = try e.encode(d), b = try e.encode(PolicyDiff(from: nil, to: try Self.policy(Self.base)))
        #expect(a == b)
        #expect(try JSONDecoder().decode(PolicyDiff.self, from: a) == d)
        #expect(String(decoding: a, as: UTF8.self).hasPrefix(#"{"assigned":[{"role":"auditor","subject":"gid:4242"}"#))
    }
}

@Suite struct CompiledDecisionTests {
    /// The compiled per-verb lists decide exactly as trying every binding,
    /// rule and glob in file order would.
    @Test func compiledDecisionsMatchTheNaiveOrder() throws {
        let p = try PolicyParser.parse(PolicyParserTests.example).policy
        let who = [Principal(uid: 0, gid: 0, groups: []), Principal(uid: 5, gid: 5, groups: [4]),
                   Principal(uid: 1001, gid: 1, groups: [4242]), Principal(uid: 9, gid: 9, groups: [])]
        let paths = ["/", "/nginx", "/nginx/a", "/app/x.log", "/app/x/y.log", "/other"]
        for w in who {
            for verb in Verb.allCases {
                for path in paths {
                    var naive = Decision.denied
                    outer: for (i, b) in p.bindings.enumerated() where b.subjects.contains(where: { $0.includes(w) }) {
                        let role = p.roles.first { $0.name == b.role }!
                        for rule in role.rules where rule.verbs.contains(verb) {
                            if let g = rule.paths.first(where: { $0.matches(path) }) {
                                naive = Decision(granted: true, role: role.name, binding: i, bindingLine: b.line,
                                                 ruleLine: rule.line, glob: g.text)
                                break outer
                            }
                        }
                    }
                    #expect(p.decide(w, verb, path) == naive, "\(w) \(verb) \(path)")
                }
            }
        }
        #expect(p.namesGroups)
        #expect(!AccessPolicy.builtin.namesGroups)
    }
}
