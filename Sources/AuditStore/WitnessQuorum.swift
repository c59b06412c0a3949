/// N of M witnesses (`verify --witness-key K … --witness-quorum N`, and the
/// same for `verify-bundle`): a checkpoint passes when at least `required`
/// of `keys` cosigned it validly (C2SP tlog-cosignature/v1, `Cosignature`).
/// A cosignature by a key not in `keys` counts for nothing (signed-note:
/// unknown keys are ignored); one by a key in `keys` that does not verify
/// is a failure, named.
public struct WitnessQuorum: Sendable, Equatable {
    public let keys: [Cosignature.WitnessKey]
    public let required: Int

    public struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// `required` nil: all of `keys`. Refused: no key, the same key twice,
    /// a quorum below 1 or above the number of keys.
    public init(keys: [Cosignature.WitnessKey], required: Int? = nil) throws(Invalid) {
        guard !keys.isEmpty else { throw Invalid(reason: "a witness quorum needs at least one witness key") }
        for (i, k) in keys.enumerated() where keys[..<i].contains(where: { $0.name == k.name && $0.keyID == k.keyID }) {
            throw Invalid(reason: "witness key \(k.name) given twice")
        }
        let n = required ?? keys.count
        guard (1...keys.count).contains(n) else {
            throw Invalid(reason: "a quorum of \(n) of \(keys.count) witness key(s): expected 1 to \(keys.count)")
        }
        self.keys = keys
        self.required = n
    }

    /// The names of the witnesses whose cosignature of `note` verifies, when
    /// they are at least `required`; throws otherwise, or when a cosignature
    /// of a key in `keys` is there but does not verify.
    @discardableResult
    public func check(_ note: String) throws(SignedNote.Invalid) -> [String] {
        let sigs = try SignedNote.parse(note).signatures
        var valid: [String] = []
        for k in keys where sigs.contains(where: { $0.name == k.name && $0.keyID == k.keyID }) {
            _ = try Cosignature.verify(note, witness: k)
            valid.append(k.name)
        }
        guard valid.count >= required else {
            let missing = keys.map(\.name).filter { !valid.contains($0) }
            throw SignedNote.Invalid(reason: "cosigned by \(valid.count) of the \(keys.count) witness key(s) given, \(required) required"
                                     + " (missing: \(missing.joined(separator: ", ")))")
        }
        return valid
    }
}
