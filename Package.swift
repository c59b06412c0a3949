// swift-tools-version:6.0
import PackageDescription

// Layout (see README.md, "Architecture"):
//   AuditPlumbing — what every target shares and none owns: byte strings, clocks and times, mountinfo,
//                 Unix socket addresses, atomic file writes, the one-line error. Foundation/Glibc only.
//   AuditStore  — the store: on-disk format, Merkle tree, index, checker. No libfuse.
//   CAuditStoreShim — C for the store: one-shot SHA-256 through the BoringSSL that swift-crypto links.
//   AuditPolicy — the permission policy: YAML (Yams), globs, decisions. No libfuse.
//   AuditWitness — witness delivery (directory, command) on queues off the FUSE threads; child commands.
//   AuditCLI    — the subcommands that work on a store without FUSE.
//   auditfs-check — the checker alone (verify/log/cat/ls), for hosts without libfuse.
//   auditfs     — everything, including `mount` (its ArgumentParser glue and backgrounding).
//   CFuse3      — system library: libfuse3's low-level API (FUSE_USE_VERSION 314).
//   CAuditFUSEShim — C beside libfuse: the session loop (one reader at a time) and the variadic log hook.
//   FUSEInterface — the seam: RequestContext, answer types, Errno, `FileSystemOperations` (ENOSYS defaults).
//   AuditDaemon — the mount daemon's logic behind that seam; no libfuse, no ArgumentParser, no CLI.
//   CAuditDaemonShim — C for the daemon that Swift cannot write safely (a signal handler, struct ucred).
//   AuditFUSE   — the bridge to libfuse (replies, operations table, session); the only target that imports it.
//   AuditS3     — the smallest S3 client: SigV4, path-style calls over URLSession, strict bounded XML answers.
//   AuditShip   — shipping a store to an S3 Object Lock bucket; verify, restore and compare from it.
let package = Package(
    name: "auditfs",
    products: [
        .executable(name: "auditfs", targets: ["auditfs"]),
        .executable(name: "auditfs-check", targets: ["auditfs-check"]),
        .library(name: "AuditStore", targets: ["AuditStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // Metrics on the mount (docs/QUERY.md): metric types and text format, and a small HTTP server (no SwiftNIO).
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        .target(name: "AuditPlumbing"),
        .target(
            name: "AuditStore",
            dependencies: ["AuditPlumbing", "CAuditStoreShim", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["FORMAT.md"]
        ),
        // C for the store: SHA-256 through the BoringSSL swift-crypto links, without a context object per call.
        .target(name: "CAuditStoreShim", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "AuditPolicy",
            dependencies: [
                "AuditPlumbing",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The /.audit record types (Codable) and layout, and the daemon's control socket, shared by
        // the daemon and the readers.
        .target(
            name: "AuditRecords",
            dependencies: ["AuditPolicy", "AuditPlumbing", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The query index (cache/query), filters and the follower of new records. No libfuse.
        .target(name: "AuditQuery", dependencies: ["AuditStore", "AuditRecords", "AuditPlumbing"]),
        // Handing checkpoints to witnesses (directory, command) off the FUSE threads; running child commands.
        .target(name: "AuditWitness", dependencies: ["AuditStore", "AuditPlumbing"]),
        // The S3 client for shipping the store to an Object Lock bucket: SigV4, seven synchronous calls. No libfuse.
        .target(name: "AuditS3", dependencies: ["AuditPlumbing", .product(name: "Crypto", package: "swift-crypto")]),
        // Shipping a store to an S3 Object Lock bucket, and reading it back (verify, restore, compare). No libfuse.
        .target(name: "AuditShip", dependencies: ["AuditStore", "AuditS3", "AuditPlumbing", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "AuditCLI",
            dependencies: [
                "AuditPlumbing", "AuditStore", "AuditPolicy", "AuditRecords", "AuditQuery", "AuditWitness", "AuditShip",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "auditfs-check", dependencies: ["AuditCLI"]),
        .systemLibrary(
            name: "CFuse3",
            pkgConfig: "fuse3",
            providers: [.apt(["libfuse3-dev"])]
        ),
        .target(name: "CAuditFUSEShim", dependencies: ["CFuse3"]),
        // C for the daemon's system calls Swift cannot write safely (a signal handler, struct ucred). No libfuse.
        .target(name: "CAuditDaemonShim"),
        // The seam between the daemon and libfuse: request context, answers, errno, the operations protocol.
        .target(name: "FUSEInterface"),
        // The daemon's logic: the file system, authorizer, /.audit log, mount rules, checkpoints, alerts,
        // metrics, and `Daemon.serve(with:)`. No libfuse, no ArgumentParser, no CLI.
        .target(
            name: "AuditDaemon",
            dependencies: [
                "FUSEInterface", "AuditPlumbing", "AuditStore", "AuditPolicy", "AuditRecords", "AuditWitness", "AuditShip", "CAuditDaemonShim",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "FlyingFox", package: "FlyingFox"),
            ]
        ),
        // The bridge: the only target that imports libfuse.
        .target(name: "AuditFUSE", dependencies: ["FUSEInterface", "AuditPlumbing", "CFuse3", "CAuditFUSEShim"]),
        .executableTarget(
            name: "auditfs",
            dependencies: [
                "AuditCLI", "AuditDaemon", "AuditFUSE", "AuditPlumbing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The daemon's logic on a temp store, without root or /dev/fuse.
        .testTarget(name: "AuditDaemonTests", dependencies: ["AuditDaemon", "FUSEInterface", "AuditPlumbing", "AuditStore", "AuditPolicy", "AuditWitness", "AuditRecords"]),
        .testTarget(name: "AuditPlumbingTests", dependencies: ["AuditPlumbing"]),
        .testTarget(name: "AuditStoreTests", dependencies: ["AuditStore", "AuditPlumbing"]),
        // The commands run in-process: a failing command throws and its defers run.
        .testTarget(name: "AuditCLITests", dependencies: ["AuditCLI", "AuditPlumbing", "AuditStore",
                                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "AuditPolicyTests", dependencies: ["AuditPolicy", "AuditPlumbing", "AuditStore"]),
        .testTarget(name: "AuditShipTests", dependencies: ["AuditShip", "AuditS3"]),
        .testTarget(name: "AuditWitnessTests", dependencies: ["AuditWitness", "AuditStore", "AuditPlumbing"]),
        .testTarget(name: "AuditRecordsTests", dependencies: ["AuditRecords", "AuditStore", "AuditPlumbing"]),
        // SigV4 against AWS's vectors, locations, configuration files, hostile XML answers. No network.
        .testTarget(name: "AuditS3Tests", dependencies: ["AuditS3"]),
        .testTarget(name: "AuditQueryTests", dependencies: ["AuditQuery", "AuditStore", "AuditRecords", "AuditPlumbing"]),
        // Seeded mutation fuzzing of every reader of outside input (docs/TESTING.md).
        .testTarget(name: "AuditFuzzTests", dependencies: ["AuditPlumbing", "AuditStore", "AuditPolicy", "AuditQuery", "AuditRecords"]),
        // bench/store.sh: opening time and memory of a store of millions of blocks.
        .executableTarget(name: "store-bench", dependencies: ["AuditStore"], path: "bench/StoreBench"),
        // bench/query.py and Tests/integration/test_query.py: a store of generated decision records.
        .executableTarget(name: "query-gen", dependencies: ["AuditPlumbing", "AuditStore", "AuditRecords"], path: "bench/QueryGen"),
    ],
    swiftLanguageModes: [.v6]
)
