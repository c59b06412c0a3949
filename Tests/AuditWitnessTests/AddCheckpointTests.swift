import AuditPlumbing
import AuditStore
import Foundation
import Testing
@testable import AuditWitness

/// The add-checkpoint text both ways (C2SP tlog-witness); a witness's answer
/// is outside input.
@Suite struct AddCheckpointTests {
    static func note() throws -> (String, SignedNote.Signer) {
        let (signer, _) = try SignedNote.Signer.generate(name: "example.com/auditfs/00")
        let text = Checkpoint(origin: signer.name, size: 5, root: .zero, time: 1).text
        return (try signer.sign(text), signer)
    }

    @Test func theRequestBodyIsOldSizeProofBlankLineNote() throws {
        let (note, _) = try Self.note()
        let h = Hash.sha256(Array("x".utf8))
        let body = String(decoding: try AddCheckpoint.body(old: 3, proof: [h, h], note: note), as: UTF8.self)
        #expect(body == "old 3\n\(Base64.encode(h.bytes))\n\(Base64.encode(h.bytes))\n\n" + note)
        #expect(String(decoding: try AddCheckpoint.body(old: 0, proof: [], note: note), as: UTF8.self) == "old 0\n\n" + note)
        #expect(throws: AddCheckpoint.Invalid.self) { try AddCheckpoint.body(old: 1, proof: Array(repeating: h, count: 64), note: note) }
    }

    @Test func a409BodyIsASizeAndANewline() throws {
        #expect(try AddCheckpoint.size(in: Array("0\n".utf8)) == 0)
        #expect(try AddCheckpoint.size(in: Array("20852014\n".utf8)) == 20852014)
        for bad in ["", "\n", "12", "012\n", "-1\n", "1 \n", " 1\n", "1\n\n", "18446744073709551616\n", "１\n", "0x10\n"] {
            #expect(throws: AddCheckpoint.Invalid.self, "\(bad.debugDescription)") { try AddCheckpoint.size(in: Array(bad.utf8)) }
        }
    }

    @Test func cosignatureLinesAreTakenStrictly() throws {
        let (note, _) = try Self.note()
        let (w, _) = try SignedNote.Signer.generate(name: "witness.example/w")
        let line = try w.signatureLine(for: try SignedNote.parse(note).text)
        let (cosigned, lines) = try AddCheckpoint.cosigned(note, answer: Array(line.utf8))
        #expect(cosigned == note + line && lines == [line])
        let (w2, _) = try SignedNote.Signer.generate(name: "witness.example/w2")
        let two = line + (try w2.signatureLine(for: "t\n"))
        #expect(try AddCheckpoint.cosigned(note, answer: Array(two.utf8)).lines.count == 2)
        // What a hostile or broken witness might answer.
        var bad: [[UInt8]] = [
            [], Array("\n".utf8), Array("ok\n".utf8), Array(line.dropLast().utf8),          // no final newline
            Array((line + "\n").utf8),                                                      // a blank line
            Array(line.replacingOccurrences(of: "\n", with: "\r\n").utf8),                  // a control character
            Array((line + line).utf8),                                                      // the same key twice
            Array(line.replacingOccurrences(of: "\u{2014}", with: "-").utf8),
            [0xff, 0xfe, 0x0a],                                                             // not UTF-8
            Array(String(repeating: line, count: 17).utf8),                                 // too many (and repeated)
            [UInt8](repeating: 0x41, count: AddCheckpoint.maxAnswer + 1),
        ]
        // A signature whose base64 has a padding bit changed.
        let b64 = line.dropLast().split(separator: " ")[2]
        var chars = Array(b64)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let i = chars.lastIndex { $0 != "=" }!
        chars[i] = alphabet[alphabet.firstIndex(of: chars[i])! ^ 1]
        bad.append(Array(line.replacingOccurrences(of: String(b64), with: String(chars)).utf8))
        for answer in bad {
            #expect(throws: AddCheckpoint.Invalid.self, "\(answer.prefix(40))") { try AddCheckpoint.cosigned(note, answer: answer) }
        }
    }

    @Test func witnessURLsAreHTTPWithAHost() {
        #expect(WitnessHTTP.parse("https://witness.example/w1") != nil)
        #expect(WitnessHTTP.parse("http://127.0.0.1:8080") != nil)
        for bad in ["witness.example", "ftp://w.example", "https://", "file:///tmp/x", "https://w.example/?a=1", "https://w.example/#x", ""] {
            #expect(WitnessHTTP.parse(bad) == nil, "\(bad)")
        }
    }

    /// Nothing listens: a transport failure, a `.failed` outcome, quickly.
    @Test func aWitnessNobodyAnswersFails() throws {
        let (note, _) = try Self.note()
        let w = WitnessHTTP(WitnessHTTP.parse("http://127.0.0.1:9")!, timeout: 5, proof: { _, _ in [] }, keep: { _, _ in })
        guard case .failed = w.deliver(note, cancelled: { false }) else { Issue.record("not a failure"); return }
        #expect(w.size == 0)
    }
}
