import AuditPlumbing
import Testing
@testable import AuditPolicy

@Suite struct PolicyParserTests {
    static let example = """
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
            subjects: [{user: root}, {group: adm}, {uid: 1001}]
          - role: auditor
            subjects: [{gid: 4242}]

        """

    @Test func theReadmeExampleParses() throws {
        let r = try PolicyParser.parse(Self.example)
        #expect(r.warnings.isEmpty, "\(r.warnings)")
        #expect(r.policy.roles.map(\.name) == ["log-writer", "auditor"])
        #expect(r.policy.roles[0].rules[0].verbs == [.create, .append, .mkdir])
        #expect(r.policy.roles[0].rules[0].line == 5)
        #expect(r.policy.bindings[0].subjects == [.user(name: "root", uid: 0), .group(name: "adm", gid: 4), .uid(1001)])
        #expect(r.policy.sha256.count == 64)
    }

    /// Malformed policies: each gives its error at the right line and column.
    static let bad: [(name: String, yaml: String, line: Int, column: Int, message: String)] = [
        ("empty", "", 1, 1, "empty"),
        ("not yaml", "roles: [unclosed\n", 2, 1, "YAML"),
        ("tab indentation", "apiVersion: auditfs/v1\nroles:\n\t- name: x\n", 3, 1, "YAML"),
        ("top not a mapping", "- a\n- b\n", 1, 1, "policy must be a mapping"),
        ("unknown top key", "apiVersion: auditfs/v1\nrole: []\nroles: []\nbindings: []\n", 2, 1, "unknown key 'role'"),
        ("missing bindings", "apiVersion: auditfs/v1\nroles:\n  - name: r\n    rules: [{paths: [\"/**\"], verbs: [read]}]\n", 1, 1, "'bindings' is missing"),
        ("wrong version", "apiVersion: auditfs/v2\nroles: []\nbindings: []\n", 1, 13, "apiVersion 'auditfs/v2'"),
        ("unknown verb", "apiVersion: auditfs/v1\nroles:\n  - name: r\n    rules:\n      - paths: [\"/a\"]\n        verbs: [read, delete]\nbindings:\n  - role: r\n    subjects: [{uid: 1}]\n", 6, 23, "unknown verb 'delete'"),
        ("relative glob", "apiVersion: auditfs/v1\nroles:\n  - name: r\n    rules:\n      - paths: [\"logs/*\"]\n        verbs: [read]\nbindings:\n  - role: r\n    subjects: [{uid: 1}]\n", 5, 17, "must start with '/'"),
        ("bad double star", "apiVersion: auditfs/v1\nroles:\n  - name: r\n    rules:\n      - paths: [\"/a**\"]\n        verbs: [read]\nbindings:\n  - role: r\n    subjects: [{uid: 1}]\n", 5, 17, "'**' must be a whole component"),
        ("char class", "apiVersion: auditfs/v1\nroles:\n  - name: r\n    rules:\n      - paths: [\"/a/[ab].log\"]\n        verbs: [read]\nbindings:\n  - role: r\n    subjects: [{uid: 1}]\n", 5, 17, "only '*', '?' and '**' are special"),
        ("unknown role", "apiVersion: auditfs/v1\nroles: []\nbindings:\n  - role: ghost\n    subjects: [{uid: 1}]\n", 4, 11, "role 'ghost', which is not defined"),
        ("two subject kinds", "apiVersion: auditfs/v1\nroles:\n  - name: r\n    rules: [{paths: [\"/**\"], verbs: [read]}]\nbindings:\n  - role: r\n    subjects: [{uid: 1, gid: 2}]\n", 7, 16, "exactly one of"),
        ("uid not a number", "apiVersion: auditfs/v1\nroles:\n  - name: r\n    rules: [{paths: [\"/**\"], verbs: [read]}]\nbindings:\n  - role: r\n    subjects: [{uid: www}]\n", 7, 22, "uid must be a number"),
        ("duplicate role", "apiVersion: auditfs/v1\nroles:\n  - name: r\n    rules: [{paths: [\"/**\"], verbs: [read]}]\n  - name: r\n    rules: [{paths: [\"/**\"], verbs: [list]}]\nbindings:\n  - role: r\n    subjects: [{uid: 1}]\n", 5, 11, "defined twice"),
        ("unknown rule key", "apiVersion: auditfs/v1\nroles:\n  - name: r\n    rules: [{paths: [\"/**\"], verbs: [read], deny: true}]\nbindings:\n  - role: r\n    subjects: [{uid: 1}]\n", 4, 45, "unknown key 'deny'"),
        ("rules not a list", "apiVersion: auditfs/v1\nroles:\n  - name: r\n    rules: read\nbindings: []\n", 4, 12, "must be a list"),
        ("duplicate key", "apiVersion: auditfs/v1\nroles: []\nroles: []\nbindings: []\n", 0, 0, "duplicated key"),
    ]

    @Test(arguments: bad.indices) func badPolicyNamesLineAndColumn(i: Int) {
        let c = Self.bad[i]
        do {
            _ = try PolicyParser.parse(c.yaml)
            Issue.record("\(c.name): accepted")
        } catch {
            let first = error.errors[0]
            #expect(first.message.contains(c.message), "\(c.name): \(first)")
            if c.line > 0 { #expect(first.line == c.line && first.column == c.column, "\(c.name): \(first)") }
        }
    }

    @Test func unusedRoleAndUnknownUserAreWarnings() throws {
        let r = try PolicyParser.parse("""
            apiVersion: auditfs/v1
            roles:
              - name: used
                rules: [{paths: ["/**"], verbs: [read]}]
              - name: spare
                rules: [{paths: ["/**"], verbs: [list]}]
            bindings:
              - role: used
                subjects: [{user: no-such-user-here}]

            """)
        #expect(r.warnings.map(\.description) == [
            "5:11: role 'spare' is not used by any binding",
            "9:23: user 'no-such-user-here' does not exist on this host; the subject matches nobody",
        ])
        #expect(r.policy.bindings[0].subjects == [.user(name: "no-such-user-here", uid: nil)])
    }
}

@Suite struct PathGlobTests {
    static let cases: [(glob: String, path: String, match: Bool)] = [
        ("/**", "/", true), ("/**", "/a/b/c", true),
        ("/nginx/**", "/nginx", true), ("/nginx/**", "/nginx/access.log", true), ("/nginx/**", "/nginx/a/b", true),
        ("/nginx/**", "/nginxx", false), ("/nginx/**", "/other/nginx/x", false),
        ("/app/*.log", "/app/x.log", true), ("/app/*.log", "/app/.log", true), ("/app/*.log", "/app/sub/x.log", false),
        ("/app/*.log", "/app/x.log.1", false), ("/app/*", "/app", false),
        ("/a/**/z", "/a/z", true), ("/a/**/z", "/a/b/c/z", true), ("/a/**/z", "/a/b/c/zz", false),
        ("/a/?.log", "/a/1.log", true), ("/a/?.log", "/a/12.log", false),
        ("/a/*x*y", "/a/xxyxy", true), ("/a/*x*y", "/a/xyx", false),
        ("/", "/", true), ("/", "/a", false),
        ("/exact/file", "/exact/file", true), ("/exact/file", "/exact/file2", false),
    ]

    @Test(arguments: cases.indices) func matching(i: Int) throws {
        let c = Self.cases[i]
        #expect(try PathGlob(c.glob).matches(c.path) == c.match, "\(c.glob) vs \(c.path)")
    }
}

@Suite struct DecisionTests {
    @Test func unionOfGrantsDefaultDenyAndWhoGranted() throws {
        let p = try PolicyParser.parse(PolicyParserTests.example).policy
        let root = Principal(uid: 0, gid: 0, groups: [])
        let adm = Principal(uid: 5000, gid: 5000, groups: [4])
        let u1001 = Principal(uid: 1001, gid: 1001, groups: [])
        let auditor = Principal(uid: 7000, gid: 4242, groups: [])
        let both = Principal(uid: 1001, gid: 100, groups: [4242])
        let nobody = Principal(uid: 65534, gid: 65534, groups: [])

        let d = p.decide(root, .create, "/nginx/access.log")
        #expect(d == Decision(granted: true, role: "log-writer", binding: 0, bindingLine: 12, ruleLine: 5, glob: "/nginx/**"))
        #expect(p.decide(root, .read, "/nginx/access.log").granted == false)     // root is a subject like any other
        #expect(p.decide(adm, .append, "/app/x.log").glob == "/app/*.log")
        #expect(p.decide(adm, .append, "/app/sub/x.log").granted == false)
        #expect(p.decide(u1001, .mkdir, "/nginx/sub").granted)
        #expect(p.decide(u1001, .setattr, "/nginx/access.log").granted == false)
        #expect(p.decide(auditor, .list, "/anything").role == "auditor")
        #expect(p.decide(auditor, .append, "/nginx/x").granted == false)
        #expect(p.decide(both, .read, "/nginx/x").granted && p.decide(both, .append, "/nginx/x").granted)
        for verb in Verb.allCases { #expect(p.decide(nobody, verb, "/nginx/x") == .denied) }
    }

    @Test func builtinPolicyGrantsEveryone() {
        let anyone = Principal(uid: 12345, gid: 12345, groups: [])
        for verb in Verb.allCases { #expect(AccessPolicy.builtin.decide(anyone, verb, "/x/y").granted) }
    }
}
