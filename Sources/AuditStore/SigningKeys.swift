import Foundation

/// The store's forward-secure signing key (README "Checkpoints"): one
/// Ed25519 key per epoch. Epoch 0's public key is the verifier key an
/// operator keeps off the host. Each later epoch's key is certified by the
/// previous epoch's key — the certificate also names the tree size and root
/// at which the epoch began — and the previous private key is erased when
/// its epoch ends, so a key stolen today cannot sign a different past.
///
/// Files (in the key directory, 0700; FORMAT.md "Keys"):
///   epoch-<n>.key   "auditfs signing key v1\nepoch <n>\nnot-before <ns>\nseed <base64>\n"
public final class SigningKeys: @unchecked Sendable {
    public let directory: String
    public let origin: String
    public private(set) var epoch: Int
    public private(set) var notBefore: Int64
    public private(set) var signer: SignedNote.Signer

    public struct Failure: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    private init(directory: String, origin: String, epoch: Int, notBefore: Int64, signer: SignedNote.Signer) {
        self.directory = directory; self.origin = origin; self.epoch = epoch; self.notBefore = notBefore; self.signer = signer
    }

    static func keyPath(_ dir: String, _ epoch: Int) -> String { dir + "/epoch-\(epoch).key" }

    /// Creates epoch 0 in an empty or missing `directory`; returns the keys
    /// and the verifier key to keep off the host.
    public static func create(directory: String, origin: String, now: Int64) throws -> SigningKeys {
        if !FileSystem.exists(directory) { try FileSystem.makeDirectory(directory, mode: 0o700) }
        guard try FileSystem.list(directory).filter({ $0.hasSuffix(".key") }).isEmpty else {
            throw Failure(reason: "\(directory) already holds a signing key")
        }
        let (signer, seed) = try SignedNote.Signer.generate(name: origin)
        try writeKey(directory, epoch: 0, notBefore: now, seed: seed)
        return SigningKeys(directory: directory, origin: origin, epoch: 0, notBefore: now, signer: signer)
    }

    /// Loads the newest key whose epoch is certified (`isCertified`; epoch 0
    /// always is), erasing any other key file: an older one whose erasure a
    /// crash interrupted, or a newer one whose certificate never landed.
    public static func open(directory: String, origin: String, isCertified: (Int) -> Bool) throws -> SigningKeys {
        guard FileSystem.isDirectory(directory) else { throw Failure(reason: "no signing key directory \(directory) (made by auditfs init)") }
        let epochs = try FileSystem.list(directory).compactMap { name -> Int? in
            guard name.hasPrefix("epoch-"), name.hasSuffix(".key") else { return nil }
            return Int(name.dropFirst(6).dropLast(4))
        }.sorted()
        guard let current = epochs.last(where: { $0 == 0 || isCertified($0) }) else {
            throw Failure(reason: "no usable signing key in \(directory)")
        }
        for e in epochs where e != current { try erase(keyPath(directory, e), directory: directory) }
        let (notBefore, seed) = try readKey(keyPath(directory, current), epoch: current)
        return SigningKeys(directory: directory, origin: origin, epoch: current, notBefore: notBefore,
                           signer: try SignedNote.Signer(name: origin, seed: seed))
    }

    private static func writeKey(_ dir: String, epoch: Int, notBefore: Int64, seed: [UInt8]) throws {
        let text = "auditfs signing key v1\nepoch \(epoch)\nnot-before \(notBefore)\nseed \(Data(seed).base64EncodedString())\n"
        let path = keyPath(dir, epoch)
        let f = try RawFile.open(path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        try f.write(Array(text.utf8), at: 0)
        try f.sync()
        try FileSystem.syncDirectory(dir)
    }

    private static func readKey(_ path: String, epoch: Int) throws -> (Int64, [UInt8]) {
        let text = String(decoding: try RawFile.open(path, flags: O_RDONLY).read(count: 4096, at: 0), as: UTF8.self)
        let lines = text.split(separator: "\n")
        guard lines.count == 4, lines[0] == "auditfs signing key v1", lines[1] == "epoch \(epoch)",
              lines[2].hasPrefix("not-before "), let nb = Int64(lines[2].dropFirst(11)),
              lines[3].hasPrefix("seed "), let seed = Data(base64Encoded: String(lines[3].dropFirst(5))), seed.count == 32 else {
            throw Failure(reason: "\(path) is not an auditfs signing key")
        }
        return (nb, Array(seed))
    }

    /// Overwrites a key file with zeros, syncs, removes it, syncs the directory.
    static func erase(_ path: String, directory: String) throws {
        let f = try RawFile.open(path, flags: O_WRONLY)
        try f.write([UInt8](repeating: 0, count: Int(max(try f.size(), 128))), at: 0)
        try f.sync()
        FileSystem.remove(path)
        try FileSystem.syncDirectory(directory)
    }

    /// The certificate text for the next epoch's key.
    static func certificateText(origin: String, epoch: Int, notBefore: Int64, size: UInt64, root: Hash, key: SignedNote.Verifier) -> String {
        "auditfs key certificate v1\norigin \(origin)\nepoch \(epoch)\nnot-before \(notBefore)\ntree \(size) \(Data(root.bytes).base64EncodedString())\nkey \(key)\n"
    }

    /// Starts the next epoch: writes its key, lets `publish` store the
    /// certificate (signed by the current key) in the store at tree head
    /// (size, root), then erases the current key.
    public func advance(now: Int64, publish: ((UInt64, Hash) -> [UInt8]) throws -> Void) throws {
        let next = epoch + 1
        let (nextSigner, seed) = try SignedNote.Signer.generate(name: origin)
        try Self.writeKey(directory, epoch: next, notBefore: now, seed: seed)
        try publish { size, root in
            let text = Self.certificateText(origin: origin, epoch: next, notBefore: now, size: size, root: root, key: nextSigner.verifier)
            return Array((try! self.signer.sign(text)).utf8)
        }
        try Self.erase(Self.keyPath(directory, epoch), directory: directory)
        epoch = next
        notBefore = now
        signer = nextSigner
    }
}

/// A parsed key certificate (see `SigningKeys`).
public struct KeyCertificate: Sendable, Equatable {
    public var origin: String
    public var epoch: Int
    public var notBefore: Int64
    public var size: UInt64
    public var root: Hash
    public var key: SignedNote.Verifier

    /// Checks `note` is signed by `previous` and parses it.
    public static func open(_ note: String, signedBy previous: SignedNote.Verifier) throws(SignedNote.Invalid) -> KeyCertificate {
        let text = try SignedNote.open(note, by: previous)
        let lines = text.split(separator: "\n")
        func field(_ i: Int, _ name: String) throws(SignedNote.Invalid) -> String {
            guard i < lines.count, lines[i].hasPrefix(name + " ") else { throw SignedNote.Invalid(reason: "key certificate: no \(name) line") }
            return String(lines[i].dropFirst(name.count + 1))
        }
        guard lines.count == 6, lines[0] == "auditfs key certificate v1" else { throw SignedNote.Invalid(reason: "not a key certificate") }
        let origin = try field(1, "origin")
        guard let epoch = Int(try field(2, "epoch")), let nb = Int64(try field(3, "not-before")) else {
            throw SignedNote.Invalid(reason: "key certificate: bad epoch or time")
        }
        let tree = try field(4, "tree").split(separator: " ")
        guard tree.count == 2, let size = UInt64(tree[0]), let raw = Data(base64Encoded: String(tree[1])), raw.count == 32 else {
            throw SignedNote.Invalid(reason: "key certificate: bad tree line")
        }
        let key = try SignedNote.Verifier(parsing: try field(5, "key"))
        return KeyCertificate(origin: origin, epoch: epoch, notBefore: nb, size: size,
                              root: Array(raw).withUnsafeBytes { Hash(bytes: $0) }, key: key)
    }
}
