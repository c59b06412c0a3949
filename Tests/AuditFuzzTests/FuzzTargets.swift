import AuditPlumbing
import AuditPolicy
import Foundation
@testable import AuditStore

/// Every reader of outside input, as a function of bytes. The campaigns
/// (FuzzTests) feed them mutants of their seeds; the regression test feeds
/// them the saved inputs in fixtures/fuzz/<target>/.
struct FuzzTarget: Sendable {
    let name: String
    /// Executions in one CI run (a few seconds each on a loaded machine).
    let iterations: Int
    let seeds: @Sendable () -> [[UInt8]]
    var dictionary: [String] = []
    /// How many of the seeds (the first ones) are valid and must be read
    /// without a refusal; nil: all. Invalid seeds are mutated too.
    var validSeeds: Int? = nil
    var structured: (@Sendable (inout Mutator.Random, [UInt8]) -> [UInt8]?)?
    /// Runs the input; returns a short name of what happened, or throws a
    /// refusal (a clear error). Must never trap or hang.
    let execute: @Sendable ([UInt8]) throws -> String

    /// Targets share scratch directories: one execution at a time, whichever suite runs it.
    static let executionLock = NSLock()

    /// Runs `execute` under `executionLock`.
    func run(_ input: [UInt8]) throws -> String {
        Self.executionLock.lock()
        defer { Self.executionLock.unlock() }
        return try execute(input)
    }

    var campaign: FuzzCampaign {
        FuzzCampaign(target: name, seeds: seeds(), dictionary: dictionary, iterations: iterations, structured: structured)
    }

    static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    static let all: [FuzzTarget] = [frame, segment, index, treePositions, identity, queryState, policy, glob, note, bundle, time, signingKey]

    // MARK: Store files

    /// A frame prefix, a record header and a segment header decoded from the bytes.
    static let frame = FuzzTarget(name: "frame", iterations: 15_000, seeds: {
        guard let (head, frames) = SegmentSurgery.split(FuzzSeeds.goldenSegment) else { return [] }
        return [head] + frames.map { SegmentSurgery.Frame.prefix($0.header.count, $0.payload.count) + $0.header }
    }, execute: { bytes in
        bytes.withUnsafeBytes { b in
            var out = [(try? SegmentHeader.decode(b)) != nil ? "segment header" : "no segment header"]
            if b.count >= Format.framePrefixSize {
                let prefix = try? AuditStore.Frame.decodePrefix(UnsafeRawBufferPointer(rebasing: b[0..<16]))
                out.append(prefix != nil ? "prefix" : "no prefix")
                if let r = try? Record.decodeHeader(UnsafeRawBufferPointer(rebasing: b[16...])) {
                    out.append("record")
                    _ = r.encodeHeader()
                    _ = Timestamps.rfc3339(r.time) + r.writer.command + "\(r.body)"
                }
            }
            return out.joined(separator: ", ")
        }
    })

    static let segmentScratch = ScratchStore("segment")
    /// A store whose only segment is the input: the golden store's, or the
    /// signed store's (checkpoints, key certificates), both with store id 0…15.
    static let segment = FuzzTarget(name: "segment", iterations: 300, seeds: {
        [FuzzSeeds.goldenSegment, FuzzSeeds.signed.segment]
    }, dictionary: ["REC1", "AUDITSEG", "/.audit/", "/app/"], structured: { random, seed in
        SegmentSurgery.mutate(seed, &random)
    }, execute: { bytes in
        try StoreExercise.run(segmentScratch.make(segment: bytes))
    })

    static let indexScratch = ScratchStore("index")
    /// The golden store (with its cache key) and the input as cache/index. A
    /// structured mutant carries a recomputed MAC, as an attacker holding the
    /// key would make it, so the parser behind the MAC is reached.
    static let index = FuzzTarget(name: "index", iterations: 150, seeds: {
        [FuzzSeeds.fixture("golden/store/cache/index")]
    }, structured: { random, seed in
        var m = Mutator(seed: random.next())
        var b = m.mutate(seed, other: seed)
        if random.chance(3) {
            // A field-aligned boundary value: counts, ids, lengths, block positions.
            let at = 8 * random.below(max(1, b.count / 8))
            let v = Mutator.boundaryValues[random.below(Mutator.boundaryValues.count)]
            for k in 0..<8 where at + k < b.count { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
        }
        return withDigest(b)
    }, execute: { bytes in
        try StoreExercise.run(indexScratch.make(segment: FuzzSeeds.goldenSegment,
                                                files: ["cache/index": bytes, CacheKey.fileName: FuzzSeeds.goldenCacheKey]))
    })

    static let treeScratch = ScratchStore("tree")
    /// The golden store with the input as cache/tree/positions (where each record's frame is).
    static let treePositions = FuzzTarget(name: "tree-positions", iterations: 60, seeds: {
        [FuzzSeeds.fixture("golden/store/cache/tree/positions")]
    }, execute: { bytes in
        var files = ["cache/tree/positions": bytes, CacheKey.fileName: FuzzSeeds.goldenCacheKey]
        for l in 0..<4 { files["cache/tree/level-0\(l)"] = FuzzSeeds.fixture("golden/store/cache/tree/level-0\(l)") }
        return try StoreExercise.run(treeScratch.make(segment: FuzzSeeds.goldenSegment, files: files))
    })

    static let identityScratch = ScratchStore("identity")
    /// The identity file (auditfs-store).
    static let identity = FuzzTarget(name: "identity", iterations: 1_000, seeds: {
        [FuzzSeeds.fixture("golden/store/auditfs-store")]
    }, dictionary: ["auditfs-store", " v1", " v2", "id ", "\n"], execute: { bytes in
        _ = try StoreIdentity.decode(bytes, store: "fuzz")
        let path = identityScratch.make(segment: FuzzSeeds.goldenSegment, identity: bytes)
        // Decoded: the store opens with it (read as the store does, from the file).
        let s = try Store.open(at: path, mode: .readOnly)
        defer { s.close() }
        return "opened"
    })

    /// `cache/query/state` (QueryStateFuzz), structured mutants with their digest recomputed.
    static let queryState = FuzzTarget(name: "query-state", iterations: 100, seeds: { [QueryStateFuzz.seed.state] },
                                       structured: { random, seed in QueryStateFuzz.mutate(seed, &random) },
                                       execute: { bytes in try QueryStateFuzz.execute(bytes) })

    /// `b` with its last 32 bytes replaced by the MAC of the rest under the golden store's cache key.
    static func withDigest(_ b: [UInt8]) -> [UInt8] {
        guard b.count >= 32 else { return b }
        return Array(b[..<(b.count - 32)]) + CacheKey(bytes: FuzzSeeds.goldenCacheKey).mac(Array(b[..<(b.count - 32)])).bytes
    }

    // MARK: Policy

    static let callers = [Principal(uid: 0, gid: 0, groups: []), Principal(uid: 1000, gid: 1000, groups: [4, 27]),
                          Principal(uid: 33, gid: 33, groups: []), Principal(uid: .max, gid: .max, groups: [.max])]
    static let paths = ["/", "/var/log/nginx/access.log", "/.audit/decisions/2026-01-01.jsonl", "/a/b/c/d/e/f/g.log",
                        "/app/a\u{301}.log", "/x\u{200D}/y", "/" + String(repeating: "a/", count: 40) + "x.log"]

    /// A policy file: parsed; when it parses, asked every verb for a few
    /// callers and paths, its alert rules matched, and diffed against the example.
    static let policy = FuzzTarget(name: "policy", iterations: 3_000, seeds: {
        [Array(alertsPolicy.utf8)]
            + (validPolicies + FuzzSeeds.files(under: "policy/invalid", suffix: ".yaml")).map { Array(FileManager.default.contents(atPath: $0)!) }
    }, dictionary: ["apiVersion: auditfs/v1\n", "roles:", "bindings:", "alerts:", "- name: ", "rules:", "paths: ", "verbs: ",
                    "subjects:", "- user: ", "- group: ", "- uid: ", "- gid: ", "- everyone: true", "on: deny", "on: tamper",
                    "moreThan: ", "within: ", "timeout: ", "99999999999d", "9223372036854775807ms", "1w", "0s", "500ms",
                    "severity: crit", "actions:", "- syslog: {facility: auth}", "- command: {run: [/bin/true]}", "- file: /tmp/x",
                    "\"/**\"", "\"/**/a/**/b/**\"", "\"*\"", "[", "]", "{", "}", "&a ", "*a", "!!binary ", "? ", ": ", "- ", "\t", "---\n", "...\n",
                    "\"\\u0000\"", "'", "\"", "#", "%YAML 1.2\n", "<<: *a\n"], validSeeds: 1 + validPolicies.count, execute: { bytes in
        let text = String(decoding: bytes, as: UTF8.self)
        let result = try PolicyParser.parse(text)
        let p = result.policy
        var granted = 0
        for caller in callers {
            for path in paths {
                for verb in Verb.allCases where p.decide(caller, verb, path).granted { granted += 1 }
            }
        }
        for rule in p.alerts { _ = paths.map { rule.covers($0, target: "/x") } }
        _ = PolicyDiff(from: AccessPolicy.builtin, to: p)
        _ = PolicyDiff(from: p, to: p)
        return "parsed, \(result.warnings.count) warnings, \(granted > 0 ? "grants" : "denies")"
    })

    static var validPolicies: [String] {
        FuzzSeeds.files(under: "policy", suffix: ".yaml").filter { !$0.contains("/invalid/") } + [FuzzSeeds.repository + "/fixtures/servers/policy.yaml"]
    }

    static let alertsPolicy = """
    apiVersion: auditfs/v1
    roles:
      - name: writers
        rules:
          - paths: ["/var/log/**", "/app/*.log"]
            verbs: [create, append, mkdir, read, list]
    bindings:
      - role: writers
        subjects: [{user: root}, {group: adm}, {uid: 33}, {everyone: true}]
    alerts:
      - name: tamper
        on: tamper
        severity: crit
        actions:
          - syslog: {facility: local3}
          - command: {run: ["/usr/local/bin/page", "--now"], timeout: 5s}
          - file: /var/log/auditfs-alerts.jsonl
      - name: burst
        on: deny
        moreThan: 5
        within: 60s
        paths: ["/secure/**"]
        actions: [{syslog: {}}]

    """

    /// A path glob as a policy writes one, matched against a few paths.
    static let glob = FuzzTarget(name: "glob", iterations: 4_000, seeds: {
        ["/var/log/**", "/app/*.log", "/**/x.log", "/a/**/b/*/c", "/.audit/**", "/*", "/**", "/a?c/x*y/z"].map { Array($0.utf8) }
    }, dictionary: ["**", "*", "/", "?", "[", "]", "\\", ".."], execute: { bytes in
        let g = try PathGlob(String(decoding: bytes, as: UTF8.self))
        return paths.map { g.matches($0) ? "1" : "0" }.joined()
    })

    // MARK: Signed notes, checkpoints, bundles

    static var noteSeeds: [String] {
        let s = FuzzSeeds.signed
        return s.checkpoints + s.certificates + s.checkpoints.map(FuzzSeeds.cosigned)
            + [FuzzSeeds.verifier.description, FuzzSeeds.witness.description]
    }

    /// A signed note: parsed, opened with the verifier key, read as a
    /// checkpoint, as a key certificate, as a cosigned checkpoint, as a key.
    static let note = FuzzTarget(name: "note", iterations: 3_000, seeds: { noteSeeds.map { Array($0.utf8) } },
                                 dictionary: ["\n\n", "\u{2014} ", "auditfs/", "time ", "tree ", "key ", "epoch ", "not-before ",
                                              "origin ", "auditfs key certificate v1\n", "+", "==", "AAAA"], execute: { bytes in
        let text = String(decoding: bytes, as: UTF8.self)
        var out: [String] = []
        if let (body, sigs) = try? SignedNote.parse(text) {
            out.append("\(sigs.count) signatures")
            if let c = try? Checkpoint.parse(body) { out.append("checkpoint"); _ = c.time.map { Timestamps.rfc3339($0) }; _ = c.text }
        }
        if (try? SignedNote.open(text, by: FuzzSeeds.verifier)) != nil { out.append("verifies") }
        if let k = try? KeyCertificate.open(text, signedBy: FuzzSeeds.verifier) { out.append("certificate"); _ = Timestamps.rfc3339(k.notBefore) }
        if (try? Cosignature.verify(text, witness: FuzzSeeds.witness)) != nil { out.append("cosigned") }
        if (try? SignedNote.Verifier(parsing: text)) != nil { out.append("verifier key") }
        if (try? Cosignature.WitnessKey(parsing: text)) != nil { out.append("witness key") }
        _ = Checkpointer.splitNotes(text)
        return out.isEmpty ? "nothing" : out.joined(separator: ", ")
    })

    /// A proof bundle (JSON) verified with the verifier key alone, as
    /// `verify-bundle` does. Structured mutants change one decoded field.
    static let bundle = FuzzTarget(name: "bundle", iterations: 1_500, seeds: { [FuzzSeeds.signed.bundle] },
                                   dictionary: ["\"seq\":", "\"start\":", "\"end\":", "18446744073709551615", "-1", "null", "[]", "{}", "\"\""],
                                   structured: { random, seed in BundleSurgery.mutate(seed, &random) }, execute: { bytes in
        let b = try JSONDecoder().decode(ProofBundle.self, from: Data(bytes))
        let proven = try b.verify(with: FuzzSeeds.verifier)
        // Whatever verifies proves only what the store holds: bytes of /app/a.log.
        let real = FuzzSeeds.signedFileBytes
        guard proven.path == "/app/a.log", proven.end <= UInt64(real.count), proven.start <= proven.end,
              proven.bytes == Array(real[Int(proven.start)..<Int(proven.end)]) else {
            throw ForgedBundle(description: "a mutated bundle proves \(proven.path) [\(proven.start), \(proven.end)) = \(proven.bytes)")
        }
        _ = proven.checkpoint.time.map { Timestamps.rfc3339($0) }
        _ = proven.writers.map { Timestamps.rfc3339($0.time) + $0.command }
        return "proven \(proven.bytes.count) bytes"
    })

    // MARK: Times and keys

    /// A time as `--since`/`--until`, a policy duration, and ns as printed.
    static let time = FuzzTarget(name: "time", iterations: 8_000, seeds: {
        ["2026-11-26T21:57:03Z", "2026-11-26T21:57:03.123456789+01:00", "2026-11-26 21:57:03z", "2026-11-26", "-90s", "30m",
         "-1h", "2d", "1w", "now", "1795000000000000000", "500ms", "5s", "  -2d  "].map { Array($0.utf8) }
    }, dictionary: ["T", ":", ".", "Z", "+", "-", "ms", "s", "m", "h", "d", "w", "now"], execute: { bytes in
        let text = String(decoding: bytes, as: UTF8.self)
        let now: Int64 = 1_795_000_000_000_000_000
        var out: [String] = []
        if let t = Timestamps.parse(text, now: now) { out.append("time"); _ = Timestamps.rfc3339(t); _ = Timestamps.day(t) }
        if Timestamps.duration(text) != nil { out.append("duration") }
        if Timestamps.relative(text) != nil { out.append("relative") }
        if let t = Timestamps.rfc3339(parsing: text) { out.append("rfc3339"); _ = Timestamps.rfc3339(t) }
        if bytes.count >= 8 {
            let ns = bytes.prefix(8).enumerated().reduce(Int64(0)) { $0 | Int64($1.element) << (8 * Int64($1.offset)) }
            _ = Timestamps.rfc3339(ns) + Timestamps.day(ns)
        }
        return out.isEmpty ? "not a time" : out.joined(separator: ", ")
    })

    static let keyScratch = NSTemporaryDirectory() + "auditfs-fuzz-keys-\(getpid())"
    /// A signing key file (keys/epoch-0.key) as the mount loads it.
    static let signingKey = FuzzTarget(name: "signing-key", iterations: 400, seeds: {
        [Array("auditfs signing key v1\nepoch 0\nnot-before 1767225600000000000\nseed \(Data(FuzzSeeds.keySeed).base64EncodedString())\n".utf8)]
    }, dictionary: ["epoch ", "not-before ", "seed ", "\n"], execute: { bytes in
        try? FileManager.default.removeItem(atPath: keyScratch)
        try FileManager.default.createDirectory(atPath: keyScratch, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: keyScratch + "/epoch-0.key", contents: Data(bytes))
        let k = try SigningKeys.open(directory: keyScratch, origin: FuzzSeeds.origin) { _ in false }
        return "key of epoch \(k.epoch)"
    })
}

struct ForgedBundle: FuzzViolation, CustomStringConvertible {
    let description: String
}

/// Structured mutants of a proof bundle: one field of the decoded JSON
/// changed (bytes inside base64, a number, a list), then re-encoded.
enum BundleSurgery {
    static func mutate(_ json: [UInt8], _ random: inout Mutator.Random) -> [UInt8]? {
        guard var b = try? JSONDecoder().decode(ProofBundle.self, from: Data(json)) else { return nil }
        var m = Mutator(seed: random.next())
        func bytes(_ s: String) -> String { Data(m.mutate(Array(Data(base64Encoded: s) ?? Data()), other: [])).base64EncodedString() }
        let big = Mutator.boundaryValues[random.below(Mutator.boundaryValues.count)]
        switch random.below(10) {
        case 0: b.start = big
        case 1: b.end = big
        case 2 where !b.records.isEmpty:
            let i = random.below(b.records.count); b.records[i].seq = random.chance(2) ? big : b.records[i].seq &+ 1
        case 3 where !b.records.isEmpty:
            let i = random.below(b.records.count); b.records[i].header = bytes(b.records[i].header)
        case 4 where !b.records.isEmpty:
            let i = random.below(b.records.count); b.records[i].payload = bytes(b.records[i].payload)
        case 5 where !b.records.isEmpty:
            let i = random.below(b.records.count)
            if b.records[i].inclusion.isEmpty || random.chance(3) { b.records[i].inclusion.append(Data(count: 32).base64EncodedString()) }
            else { b.records[i].inclusion.removeLast() }
        case 6: b.checkpoint = String(decoding: m.mutate(Array(b.checkpoint.utf8), other: []), as: UTF8.self)
        case 7 where !b.certificates.isEmpty:
            let i = random.below(b.certificates.count)
            if random.chance(2) { b.certificates[i].note = String(decoding: m.mutate(Array(b.certificates[i].note.utf8), other: []), as: UTF8.self) }
            else { b.certificates.swapAt(i, random.below(b.certificates.count)) }
        case 8: b.records.shuffle(using: &random)
        default:
            if !b.records.isEmpty, random.chance(2) { b.records.append(b.records[random.below(b.records.count)]) }
            else { b.path = String(decoding: m.mutate(Array(b.path.utf8), other: []), as: UTF8.self) }
        }
        return (try? JSONEncoder().encode(b)).map { Array($0) }
    }
}
