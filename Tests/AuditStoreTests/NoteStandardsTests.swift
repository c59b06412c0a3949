import AuditPlumbing
import Foundation
import Testing
@testable import AuditStore

/// The C2SP details of signed notes and checkpoints (issue 15): optional
/// extension lines, no control characters, one byte form per note.
@Suite struct NoteStandardsTests {
    static let root = Base64.encode([UInt8](repeating: 7, count: 32))

    @Test func aCheckpointWithoutExtensionLinesParses() throws {
        let c = try Checkpoint.parse("example.com/log\n42\n\(Self.root)\n")
        #expect(c.origin == "example.com/log" && c.size == 42 && c.time == nil)
        #expect(c.text == "example.com/log\n42\n\(Self.root)\n")
        let other = try Checkpoint.parse("example.com/log\n42\n\(Self.root)\nsomething else\n")
        #expect(other.time == nil)
        let dated = try Checkpoint.parse("o\n1\n\(Self.root)\nx\ntime 5\n")
        #expect(dated.time == 5)
    }

    @Test(arguments: [
        "o\n1\n\(NoteStandardsTests.root)\n\n",                   // an empty extension line
        "o\n1\n\(NoteStandardsTests.root)\ntime 1\ntime 2\n",      // two time lines
        "o\n1\n\(NoteStandardsTests.root)\ntime 01\n",             // not canonical decimal
        "o\n1\n\(NoteStandardsTests.root)\ntime x\n",
        "o\n01\n\(NoteStandardsTests.root)\n",
        "o\n1\n\(NoteStandardsTests.root)",                         // no final newline
        "o\n1\n\(Base64.encode([UInt8](repeating: 7, count: 31)))\n",
    ])
    func malformedCheckpointsAreRefused(_ text: String) {
        #expect(throws: Checkpoint.Invalid.self) { try Checkpoint.parse(text) }
    }

    /// A root whose base64 has its unused bits changed names the same bytes
    /// through a lenient decoder: refused.
    @Test func aRootWithChangedPaddingBitsIsRefused() {
        var chars = Array(Self.root)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let i = chars.lastIndex { $0 != "=" }!
        chars[i] = alphabet[alphabet.firstIndex(of: chars[i])! ^ 1]
        #expect(throws: Checkpoint.Invalid.self) { try Checkpoint.parse("o\n1\n\(String(chars))\n") }
    }

    /// A checkpoint without a time is well-formed but fails `checkpoint-time`:
    /// it cannot be placed in its key's window.
    @Test func aCheckpointWithoutATimeFailsTheTimeRule() throws {
        let (signer, _) = try SignedNote.Signer.generate(name: "auditfs/test")
        let cert = KeyCertificate(origin: "auditfs/test", epoch: 2, notBefore: 0, notAfter: 10, size: 0, root: .zero, key: signer.verifier)
        let c = Checkpoint(origin: "auditfs/test", size: 3, root: .zero, time: nil)
        let v = EpochBinding.violation(of: c, epoch: 2, certificate: cert, nextCertifiedAt: nil, newestRecord: nil)
        #expect(v == .noTime && v?.check == .checkpointTime)
        #expect(EpochBinding.timeViolation(of: c, newestRecord: nil) == .noTime)
    }

    @Test(arguments: ["\u{0}", "\u{1}", "\t", "\r", "\u{1b}", "\u{1f}"])
    func notesWithControlCharactersAreRefused(_ control: String) throws {
        let (signer, _) = try SignedNote.Signer.generate(name: "example.com/k")
        let good = try signer.sign("text\n")
        #expect(try SignedNote.open(good, by: signer.verifier) == "text\n")
        // In the text (signed as it is: the signature verifies), and in a signature line.
        let inText = try signer.sign("te\(control)xt\n")
        #expect(throws: SignedNote.Invalid.self) { try SignedNote.parse(inText) }
        #expect(throws: SignedNote.Invalid.self) { try SignedNote.open(inText, by: signer.verifier) }
        let inSignature = good.replacingOccurrences(of: "\n\u{2014} ", with: "\n\u{2014} " + control)
        #expect(throws: SignedNote.Invalid.self) { try SignedNote.parse(inSignature) }
    }

    @Test func aSignatureWithChangedPaddingBitsIsRefused() throws {
        let (signer, _) = try SignedNote.Signer.generate(name: "example.com/k")
        let good = try signer.sign("text\n")
        let sig = good.split(separator: " ").last!.dropLast()   // base64, without the newline
        var chars = Array(sig)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let i = chars.lastIndex { $0 != "=" }!
        chars[i] = alphabet[alphabet.firstIndex(of: chars[i])! ^ 1]
        let bad = good.replacingOccurrences(of: String(sig), with: String(chars))
        #expect(bad != good)
        #expect(throws: SignedNote.Invalid.self) { try SignedNote.open(bad, by: signer.verifier) }
    }

    @Test func twoSignaturesOfOneKeyAreRefusedAndSeveralKeysAreTaken() throws {
        let (a, _) = try SignedNote.Signer.generate(name: "example.com/k")
        let (b, _) = try SignedNote.Signer.generate(name: "example.com/k")   // same name, another key id
        let note = try a.sign("text\n")
        let both = note + (try b.signatureLine(for: "text\n"))
        #expect(try SignedNote.open(both, by: a.verifier) == "text\n")
        #expect(try SignedNote.open(both, by: b.verifier) == "text\n")
        #expect(throws: SignedNote.Invalid.self) { try SignedNote.parse(note + (try a.signatureLine(for: "text\n"))) }
    }
}
