import Testing
@testable import AuditPolicy

/// The verbs of history mode, `rename` and `remove` (docs/POLICY.md
/// "Verbs"): parsed like the others, default deny, each its own grant, the
/// built-in policy grants them, and the words a policy author reaches for
/// instead are named in the error.
@Suite struct VerbTests {
    static let policy = """
        apiVersion: auditfs/v1
        roles:
          - name: rotator
            rules:
              - paths: ["/var/log/**"]
                verbs: [create, append, rename, remove]
          - name: mover
            rules:
              - paths: ["/var/log/**"]
                verbs: [rename]
        bindings:
          - role: rotator
            subjects: [{uid: 1000}]
          - role: mover
            subjects: [{uid: 1001}]

        """

    @Test func renameAndRemoveParseAndAreGrantedOnlyWhereARuleSaysSo() throws {
        let p = try PolicyParser.parse(Self.policy).policy
        #expect(p.roles[0].rules[0].verbs == [.create, .append, .rename, .remove])
        let rotator = Principal(uid: 1000, gid: 1000, groups: [])
        let mover = Principal(uid: 1001, gid: 1001, groups: [])
        let nobody = Principal(uid: 1002, gid: 1002, groups: [])
        #expect(p.decide(rotator, .rename, "/var/log/audit/audit.log").role == "rotator")
        #expect(p.decide(rotator, .remove, "/var/log/audit/audit.log.5").granted)
        #expect(p.decide(rotator, .rename, "/etc/passwd") == .denied)
        #expect(p.decide(mover, .rename, "/var/log/a.log").role == "mover")
        #expect(p.decide(mover, .remove, "/var/log/a.log") == .denied)   // one grant does not bring the other
        #expect(p.decide(nobody, .rename, "/var/log/a.log") == .denied)
        #expect(p.decide(nobody, .remove, "/var/log/a.log") == .denied)
    }

    @Test func theBuiltinPolicyGrantsThem() {
        let anyone = Principal(uid: 4242, gid: 4242, groups: [])
        #expect(AccessPolicy.builtin.decide(anyone, .rename, "/a/b").granted)
        #expect(AccessPolicy.builtin.decide(anyone, .remove, "/a/b").granted)
    }

    @Test(arguments: [("delete", "remove"), ("unlink", "remove"), ("rmdir", "remove"), ("move", "rename"),
                      ("mv", "rename"), ("write", "append"), ("chmod", "setattr")])
    func aWordThatIsNoVerbNamesTheVerbItMeant(word: String, verb: String) {
        #expect(Verb.unknown(word) == "unknown verb '\(word)' (expected one of create, append, mkdir, read, list, "
            + "setattr, rename, remove; for \(word) the verb is '\(verb)')")
    }

    @Test func anyOtherWordListsTheVerbs() {
        #expect(Verb.unknown("explode")
            == "unknown verb 'explode' (expected one of create, append, mkdir, read, list, setattr, rename, remove)")
    }

    @Test func theParserGivesTheHintAtTheWord() throws {
        let yaml = "apiVersion: auditfs/v1\nroles:\n  - name: r\n    rules:\n      - paths: [\"/a\"]\n"
            + "        verbs: [read, delete]\nbindings:\n  - role: r\n    subjects: [{uid: 1}]\n"
        do {
            _ = try PolicyParser.parse(yaml)
            Issue.record("parsed")
        } catch {
            let e = try #require(error.errors.first)
            #expect(e.line == 6 && e.column == 23)
            #expect(e.message.hasSuffix("; for delete the verb is 'remove')"))
        }
    }
}
