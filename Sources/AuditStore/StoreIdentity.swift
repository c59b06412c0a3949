import AuditPlumbing
/// The identity file at the top of a store (FORMAT.md "Store directory"):
///
///   auditfs-store v2\n
///   id <32 lowercase hex digits>\n
public struct StoreIdentity: Equatable, Sendable {
    public var id: [UInt8]
    /// The store's format version (`Format.readableVersions`): every segment
    /// header repeats it, and it decides which record kinds the store may hold.
    public var version: UInt32

    public init(id: [UInt8], version: UInt32 = Format.version) {
        precondition(id.count == 16 && Format.readableVersions.contains(version))
        self.id = id; self.version = version
    }

    public func encode() -> [UInt8] {
        Array("\(Format.identityMagic) v\(version)\nid \(idHex)\n".utf8)
    }

    public var idHex: String { Hex.encode(id) }

    /// Parses the file. Throws `.unsupportedVersion` when the first line is
    /// `auditfs-store v<digits>` of another version, whatever follows it (a
    /// later version may add lines), and `.badIdentity` for anything else
    /// that is not an identity file of a version this auditfs reads.
    public static func decode(_ bytes: [UInt8], store: String) throws(StoreError) -> StoreIdentity {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let first = lines[0].split(separator: " ", omittingEmptySubsequences: false)
        guard first.count == 2, first[0] == Format.identityMagic else { throw .badIdentity(store) }
        let known = Format.readableVersions.first { first[1] == "v\($0)" }
        if known == nil {
            let digits = first[1].dropFirst()
            guard first[1].hasPrefix("v"), !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw .badIdentity(store)
            }
            throw .unsupportedVersion(store, found: String(lines[0]))
        }
        guard lines.count == 3, lines[2].isEmpty else { throw .badIdentity(store) }
        let second = lines[1].split(separator: " ")
        guard second.count == 2, second[0] == "id", second[1].utf8.count == 32,
              let id = Hex.decode(second[1]) else { throw .badIdentity(store) }
        return StoreIdentity(id: id, version: known!)
    }
}
