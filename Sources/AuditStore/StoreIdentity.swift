/// The identity file at the top of a store (FORMAT.md "Store directory"):
///
///   auditfs-store v1\n
///   id <32 lowercase hex digits>\n
public struct StoreIdentity: Equatable, Sendable {
    public var id: [UInt8]

    public init(id: [UInt8]) { precondition(id.count == 16); self.id = id }

    public func encode() -> [UInt8] {
        Array("\(Format.identityMagic) v\(Format.version)\nid \(idHex)\n".utf8)
    }

    public var idHex: String { id.map { String($0, radix: 16).leftPad(2) }.joined() }

    /// Parses the file. Returns `.unsupportedVersion` for a well-formed first
    /// line with another version.
    public static func decode(_ bytes: [UInt8], store: String) throws(StoreError) -> StoreIdentity {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 3, lines[2].isEmpty else { throw .notAStore(store) }
        let first = lines[0].split(separator: " ")
        guard first.count == 2, first[0] == Format.identityMagic else { throw .notAStore(store) }
        guard first[1] == "v\(Format.version)" else { throw .unsupportedVersion(store, found: String(first[1])) }
        let second = lines[1].split(separator: " ")
        guard second.count == 2, second[0] == "id", second[1].utf8.count == 32,
              let id = Hash(hex: String(second[1]) + String(repeating: "0", count: 32)) else { throw .notAStore(store) }
        return StoreIdentity(id: Array(id.bytes.prefix(16)))
    }
}

extension String {
    func leftPad(_ width: Int, with c: Character = "0") -> String {
        count >= width ? self : String(repeating: c, count: width - count) + self
    }
}
