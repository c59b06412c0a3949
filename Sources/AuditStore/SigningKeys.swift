import AuditPlumbing
import Foundation

/// The store's forward-secure signing key (README "Checkpoints"): one
/// Ed25519 key per epoch. Epoch 0's key is the root: `auditfs init` uses it
/// once, to certify epoch 1, and never stores it; its public key is the
/// verifier key an operator keeps off the host. Each later epoch's key is
/// certified by the previous epoch's key with the tree head at which the
/// epoch began and the window of time it may sign in (`not-before` ..
/// `not-after`); the previous private key is erased when its epoch ends, so
/// a key stolen today cannot sign a different past, nor a checkpoint dated
/// after its own epoch.
///
/// Files (in the key directory, 0700; FORMAT.md "Keys"):
///   epoch-<n>.key   "auditfs signing key v2\nepoch <n>\nnot-before <ns>\nnot-after <ns>\nseed <base64>\n"
/// (v1 key files, without not-after, are read as keys without a window.)
public final class SigningKeys: @unchecked Sendable {
    public let directory: String
    public let origin: String
    public private(set) var epoch: Int
    public private(set) var notBefore: Int64
    /// The end of this key's signed window; nil for a key that has none (the
    /// root key, or one certified by a v1 certificate): such a key signs no
    /// checkpoint, only its successor's certificate.
    public private(set) var notAfter: Int64?
    public private(set) var signer: SignedNote.Signer

    public struct Failure: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    private init(directory: String, origin: String, epoch: Int, notBefore: Int64, notAfter: Int64?, signer: SignedNote.Signer) {
        self.directory = directory; self.origin = origin; self.epoch = epoch
        self.notBefore = notBefore; self.notAfter = notAfter; self.signer = signer
    }

    static func keyPath(_ dir: String, _ epoch: Int) -> String { dir + "/epoch-\(epoch).key" }

    /// Whether this key may sign a checkpoint dated `time`.
    public func mayCheckpoint(at time: Int64) -> Bool {
        guard let notAfter else { return false }
        return time >= notBefore && time <= notAfter
    }

    /// Creates the keys of a new store in an empty or missing `directory`:
    /// a root key (epoch 0) that only certifies epoch 1 — `publish` stores
    /// that certificate in the store — and is never written to disk. Returns
    /// the keys (at epoch 1) and the root's public key, the verifier key to
    /// keep off the host.
    public static func create(directory: String, origin: String, now: Int64, window: Int64,
                              publish: ((UInt64, Hash) -> [UInt8]) throws -> Void) throws -> (SigningKeys, SignedNote.Verifier) {
        if !FileSystem.exists(directory) { try FileSystem.makeDirectory(directory, mode: 0o700) }
        guard try FileSystem.list(directory).filter({ $0.hasSuffix(".key") }).isEmpty else {
            throw Failure(reason: "\(directory) already holds a signing key")
        }
        let (root, _) = try SignedNote.Signer.generate(name: origin)
        let keys = SigningKeys(directory: directory, origin: origin, epoch: 0, notBefore: now, notAfter: nil, signer: root)
        try keys.advance(now: now, window: window, publish: publish)
        return (keys, root.verifier)
    }

    /// Loads the newest key whose epoch is certified (`isCertified`; epoch 0
    /// always is), erasing any other key file: an older one whose erasure a
    /// crash interrupted, or a newer one whose certificate never landed.
    public static func open(directory: String, origin: String, isCertified: (Int) -> Bool) throws -> SigningKeys {
        guard FileSystem.isDirectory(directory) else { throw Failure(reason: "no signing key directory \(directory) (made by auditfs init)") }
        let epochs = try FileSystem.list(directory).compactMap { name -> Int? in
            guard name.hasPrefix("epoch-"), name.hasSuffix(".key"), let e = Int(name.dropFirst(6).dropLast(4)), e >= 0 else { return nil }
            return e
        }.sorted()
        guard let current = epochs.last(where: { $0 == 0 || isCertified($0) }) else {
            throw Failure(reason: "no usable signing key in \(directory)")
        }
        for e in epochs where e != current { try erase(keyPath(directory, e), directory: directory) }
        let key = try readKey(keyPath(directory, current), epoch: current)
        return SigningKeys(directory: directory, origin: origin, epoch: current, notBefore: key.notBefore, notAfter: key.notAfter,
                           signer: try SignedNote.Signer(name: origin, seed: key.seed))
    }

    private static func writeKey(_ dir: String, epoch: Int, notBefore: Int64, notAfter: Int64, seed: [UInt8]) throws {
        let text = "auditfs signing key v2\nepoch \(epoch)\nnot-before \(notBefore)\nnot-after \(notAfter)\nseed \(Data(seed).base64EncodedString())\n"
        let path = keyPath(dir, epoch)
        // A key file of this epoch left by an advance that never certified it.
        if FileSystem.exists(path) { try erase(path, directory: dir) }
        // Written in place, not through AtomicFile: a crash would leave the
        // seed under a temporary name that `erase` never zeroes. A key file
        // cut short is refused by readKey and erased at the next advance.
        let f = try RawFile.open(path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        try f.write(Array(text.utf8), at: 0)
        try f.sync()
        try AtomicFile.syncDirectory(dir)
    }

    private static func readKey(_ path: String, epoch: Int) throws -> (notBefore: Int64, notAfter: Int64?, seed: [UInt8]) {
        let text = String(decoding: try RawFile.open(path, flags: O_RDONLY | O_NONBLOCK).read(count: 4096, at: 0), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        func value(_ i: Int, _ name: String) -> Substring? {
            guard i < lines.count, lines[i].hasPrefix(name + " ") else { return nil }
            return lines[i].dropFirst(name.count + 1)
        }
        let v2 = lines.first == "auditfs signing key v2"
        guard v2 || lines.first == "auditfs signing key v1", lines.count == (v2 ? 6 : 5), lines.last == "",
              lines[1] == "epoch \(epoch)", let nb = value(2, "not-before").flatMap({ Int64($0) }) else {
            throw Failure(reason: "\(path) is not an auditfs signing key")
        }
        let na = v2 ? value(3, "not-after").flatMap { Int64($0) } : nil
        // Times are ns since 1970: a key from before it is not one this store wrote.
        guard nb >= 0, !v2 || (na != nil && na! >= nb),
              let seed = value(v2 ? 4 : 3, "seed").flatMap({ Data(base64Encoded: String($0)) }), seed.count == 32 else {
            throw Failure(reason: "\(path) is not an auditfs signing key")
        }
        return (nb, na, Array(seed))
    }

    /// Overwrites a key file with zeros, syncs, removes it, syncs the directory.
    static func erase(_ path: String, directory: String) throws {
        let f = try RawFile.open(path, flags: O_WRONLY | O_NONBLOCK)
        try f.write([UInt8](repeating: 0, count: Int(max(try f.size(), 128))), at: 0)
        try f.sync()
        FileSystem.remove(path)
        try AtomicFile.syncDirectory(directory)
    }

    /// The certificate text for the next epoch's key.
    static func certificateText(origin: String, epoch: Int, notBefore: Int64, notAfter: Int64, size: UInt64, root: Hash,
                                key: SignedNote.Verifier) -> String {
        "auditfs key certificate v2\norigin \(origin)\nepoch \(epoch)\nnot-before \(notBefore)\nnot-after \(notAfter)\n"
            + "tree \(size) \(Data(root.bytes).base64EncodedString())\nkey \(key)\n"
    }

    /// Starts the next epoch, whose key may sign from `now` to `now + window`
    /// (saturating): writes its key, lets `publish` store the certificate
    /// (signed by the current key) in the store at tree head (size, root),
    /// switches to the new key, then erases the old one.
    public func advance(now: Int64, window: Int64, publish: ((UInt64, Hash) -> [UInt8]) throws -> Void) throws {
        let next = epoch + 1
        let (sum, overflow) = now.addingReportingOverflow(max(window, 0))
        let end = overflow ? Int64.max : sum
        let (nextSigner, seed) = try SignedNote.Signer.generate(name: origin)
        try Self.writeKey(directory, epoch: next, notBefore: now, notAfter: end, seed: seed)
        let current = signer
        try publish { size, root in
            let text = Self.certificateText(origin: origin, epoch: next, notBefore: now, notAfter: end, size: size, root: root,
                                            key: nextSigner.verifier)
            return Array((try! current.sign(text)).utf8)
        }
        let old = Self.keyPath(directory, epoch)
        epoch = next
        notBefore = now
        notAfter = end
        signer = nextSigner
        // The root key of a new store was never written.
        if FileSystem.exists(old) { try Self.erase(old, directory: directory) }
    }
}

/// A parsed key certificate (see `SigningKeys`).
public struct KeyCertificate: Sendable, Equatable {
    public var origin: String
    public var epoch: Int
    public var notBefore: Int64
    /// The end of the key's window; nil in a v1 certificate (made before
    /// keys were bound to their epochs): that key signs no checkpoint.
    public var notAfter: Int64?
    public var size: UInt64
    public var root: Hash
    public var key: SignedNote.Verifier

    /// Whether the certified key may sign a checkpoint dated `time`
    /// (not-before ≤ time ≤ not-after).
    public func covers(time: Int64) -> Bool {
        guard let notAfter else { return false }
        return time >= notBefore && time <= notAfter
    }

    /// "[not-before, not-after]" for messages.
    public var windowText: String {
        guard let notAfter else { return "no window (a v1 certificate)" }
        return "[\(Timestamps.rfc3339(notBefore)), \(Timestamps.rfc3339(notAfter))]"
    }

    /// Checks `note` is signed by `previous` and parses it.
    public static func open(_ note: String, signedBy previous: SignedNote.Verifier) throws(SignedNote.Invalid) -> KeyCertificate {
        let text = try SignedNote.open(note, by: previous)
        let lines = text.split(separator: "\n")
        func field(_ i: Int, _ name: String) throws(SignedNote.Invalid) -> String {
            guard i < lines.count, lines[i].hasPrefix(name + " ") else { throw SignedNote.Invalid(reason: "key certificate: no \(name) line") }
            return String(lines[i].dropFirst(name.count + 1))
        }
        let v2 = lines.first == "auditfs key certificate v2"
        guard v2 || lines.first == "auditfs key certificate v1", lines.count == (v2 ? 7 : 6) else {
            throw SignedNote.Invalid(reason: "not a key certificate")
        }
        let origin = try field(1, "origin")
        guard let epoch = Int(try field(2, "epoch")), epoch > 0, let nb = Int64(try field(3, "not-before")) else {
            throw SignedNote.Invalid(reason: "key certificate: bad epoch or time")
        }
        var na: Int64?
        if v2 {
            guard let t = Int64(try field(4, "not-after")), t >= nb else {
                throw SignedNote.Invalid(reason: "key certificate: bad not-after (before not-before, or not a time)")
            }
            na = t
        }
        let tree = try field(v2 ? 5 : 4, "tree").split(separator: " ")
        guard tree.count == 2, let size = UInt64(tree[0]), let raw = Base64.decode(tree[1]), raw.count == 32 else {
            throw SignedNote.Invalid(reason: "key certificate: bad tree line")
        }
        let key = try SignedNote.Verifier(parsing: try field(v2 ? 6 : 5, "key"))
        return KeyCertificate(origin: origin, epoch: epoch, notBefore: nb, notAfter: na, size: size,
                              root: Array(raw).withUnsafeBytes { Hash(bytes: $0) }, key: key)
    }
}
