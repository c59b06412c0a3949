import Foundation
@testable import AuditStore

/// The valid artefacts the fuzzers start from, all made by auditfs itself:
/// the golden store (fixtures/golden), the example policies
/// (fixtures/policy), and a signed store made here with a fixed signing key
/// (so its checkpoints, key certificates and proof bundle verify against
/// `FuzzSeeds.verifier` on every run, and saved regression vectors replay).
enum FuzzSeeds {
    static let repository: String = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.path + "/Package.swift") { dir.deleteLastPathComponent() }
        return dir.path
    }()

    static func fixture(_ relative: String) -> [UInt8] {
        Array(FileManager.default.contents(atPath: repository + "/fixtures/" + relative)!)
    }

    static func files(under relative: String, suffix: String) -> [String] {
        let dir = repository + "/fixtures/" + relative
        guard let names = try? FileManager.default.subpathsOfDirectory(atPath: dir) else { return [] }
        return names.filter { $0.hasSuffix(suffix) }.sorted().map { dir + "/" + $0 }
    }

    /// The id of the golden store, and of the signed store made here.
    static let storeID: [UInt8] = Array(0..<16)
    static let identity = StoreIdentity(id: storeID)
    static let origin = Checkpoint.origin(of: identity)
    static let keySeed: [UInt8] = (0..<32).map { UInt8($0 * 7 + 3) }
    static let signer = try! SignedNote.Signer(name: origin, seed: keySeed)
    static let verifier = signer.verifier
    static let witnessSeed: [UInt8] = (0..<32).map { UInt8(200 - $0) }
    static let witnessSigner = try! SignedNote.Signer(name: "witness.example/w1", seed: witnessSeed)
    static let witness = Cosignature.WitnessKey(name: witnessSigner.name, publicKey: witnessSigner.verifier.publicKey)

    static let writer = Provenance(uid: 1000, gid: 1000, pid: 4242, command: "fuzz-seed")

    static var goldenSegment: [UInt8] { fixture("golden/store/segments/00000000000000000000.seg") }
    /// The key the golden store's caches are MACed under.
    static var goldenCacheKey: [UInt8] { fixture("golden/store/" + CacheKey.fileName) }

    /// A store with checkpoints and key certificates (every checkpoint
    /// starts an epoch), and a proof bundle of one of its files.
    struct Signed {
        let segment: [UInt8]
        let checkpoints: [String]
        let certificates: [String]
        let bundle: [UInt8]
    }

    static let signed: Signed = {
        let dir = NSTemporaryDirectory() + "auditfs-fuzz-seed-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = dir + "/store"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var options = Store.Options()
        let tick = Counter()
        options.clock = { 1_767_225_600_000_000_000 + tick.next() * 1_000_000 }
        let s = try! Store.create(at: store, options: options, by: writer, storeID: storeID)
        let keys = Checkpointer.keysDirectory(of: store)
        try! FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = "auditfs signing key v1\nepoch 0\nnot-before 1767225600000000000\nseed \(Data(keySeed).base64EncodedString())\n"
        FileManager.default.createFile(atPath: keys + "/epoch-0.key", contents: Data(key.utf8), attributes: [.posixPermissions: 0o600])
        var co = Checkpointer.Options()
        co.epochLength = 0
        co.clock = options.clock
        let c = try! Checkpointer(store: s, keysDirectory: keys, options: co, writer: writer)
        let app = try! s.create("/app", kind: .directory, mode: 0o755, owner: 0, group: 0, by: writer)
        let log = try! s.create("/app/a.log", kind: .file, mode: 0o644, owner: 1000, group: 1000, by: writer)
        _ = app
        try! s.append(log.id, Array("alpha\nbeta\n".utf8), by: writer)
        try! c.issue()
        try! s.append(log.id, Array("gamma\n".utf8), by: writer)
        try! s.setAttributes(log.id, AttributeChange(fields: [.mode, .mtime], mode: 0o600, mtime: 1_767_225_600_500_000_000), by: writer)
        try! c.issue()
        let bundle = try! JSONEncoder().encode(ProofBundle.make(store: s, path: "/app/a.log", start: 2, end: 14))
        let checkpoints = try! s.blocks(of: AuditPaths.checkpoints).map { String(decoding: $0, as: UTF8.self) }
        var certificates: [String] = []
        var e = 1
        while let b = try! s.blocks(of: AuditPaths.certificate(epoch: e)).first {
            certificates.append(String(decoding: b, as: UTF8.self)); e += 1
        }
        s.close()
        return Signed(segment: Array(FileManager.default.contents(atPath: store + "/segments/00000000000000000000.seg")!),
                      checkpoints: checkpoints, certificates: certificates, bundle: Array(bundle))
    }()

    /// The bytes of /app/a.log in the signed store, the file its bundle proves.
    static let signedFileBytes = Array("alpha\nbeta\ngamma\n".utf8)

    /// `note` with the witness's cosignature line added (C2SP tlog-cosignature/v1).
    static func cosigned(_ note: String) -> String {
        let text = try! SignedNote.parse(note).text
        let ts: UInt64 = 1_795_000_000
        let sig = try! witnessSigner.signature(of: Cosignature.message(checkpointText: text, timestamp: ts))
        var id = witness.keyID.bigEndian, t = ts.bigEndian
        let blob = withUnsafeBytes(of: &id) { Array($0) } + withUnsafeBytes(of: &t) { Array($0) } + sig
        return note + "\u{2014} \(witness.name) \(Data(blob).base64EncodedString())\n"
    }
}

final class Counter: @unchecked Sendable {
    private var value: Int64 = 0
    private let lock = NSLock()
    func next() -> Int64 { lock.lock(); defer { lock.unlock() }; value += 1; return value - 1 }
}
