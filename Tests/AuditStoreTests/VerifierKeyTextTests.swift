import AuditPlumbing
import AuditStore
import Testing

/// The one text form of a verifier key (VerifierKeyText.swift), for the
/// note signer (type 0x01) and for witnesses (type 0x04).
@Suite struct VerifierKeyTextTests {
    static let key = [UInt8](repeating: 0x11, count: 32)

    @Test func bothKeyKindsWriteTheSameShapeAndReadBack() throws {
        let verifier = try SignedNote.Verifier(name: "example.com/log", publicKey: Self.key)
        let witness = Cosignature.WitnessKey(name: "example.com/log", publicKey: Self.key)
        for (text, type, id) in [(verifier.description, SignedNote.ed25519, verifier.keyID), (witness.description, Cosignature.type, witness.keyID)] {
            let parts = text.split(separator: "+")
            #expect(parts.count == 3 && parts[0] == "example.com/log" && parts[1] == Hex.uint32(id))
            let parsed = try #require(VerifierKeyText.parse(text, type: type))
            #expect(parsed.name == "example.com/log" && parsed.keyID == id && parsed.publicKey == Self.key)
        }
        #expect(verifier.keyID != witness.keyID)   // the type is part of the key id
        #expect(try SignedNote.Verifier(parsing: verifier.description) == verifier)
        #expect(try Cosignature.WitnessKey(parsing: "  " + witness.description + "\n") == witness)
    }

    @Test func aKeyOfTheOtherKindOrAnotherShapeIsRefused() throws {
        let verifier = try SignedNote.Verifier(name: "n", publicKey: Self.key)
        let witness = Cosignature.WitnessKey(name: "n", publicKey: Self.key)
        #expect(VerifierKeyText.parse(verifier.description, type: Cosignature.type) == nil)
        #expect(throws: SignedNote.Invalid.self) { try Cosignature.WitnessKey(parsing: verifier.description) }
        #expect(throws: SignedNote.Invalid.self) { try SignedNote.Verifier(parsing: witness.description) }
        let parts = verifier.description.split(separator: "+").map(String.init)
        for bad in ["n+" + parts[1], "n+1234567+" + parts[2], "n+123456789+" + parts[2], "n+zzzzzzzz+" + parts[2], "n+" + parts[1] + "+AAAA"] {
            #expect(VerifierKeyText.parse(bad, type: SignedNote.ed25519) == nil, "\(bad)")
        }
        let wrongID = "n+" + Hex.uint32(verifier.keyID ^ 1) + "+" + parts[2]
        #expect(VerifierKeyText.parse(wrongID, type: SignedNote.ed25519) != nil)   // the shape is right;
        #expect(throws: SignedNote.Invalid.self) { try SignedNote.Verifier(parsing: wrongID) }   // the key id is not
    }
}
