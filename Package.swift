// swift-tools-version:6.0
import PackageDescription

// Layout (see README.md, "Architecture"):
//   AuditStore  — the store: on-disk format, Merkle tree, index, checker. No libfuse.
//   AuditPolicy — the permission policy: YAML (Yams), globs, decisions. No libfuse.
//   AuditWitness — witness delivery (directory, command) on queues off the FUSE threads; child commands.
//   AuditCLI    — the subcommands that work on a store without FUSE.
//   auditfs-check — the checker alone (verify/log/cat/ls), for hosts without libfuse.
//   auditfs     — everything, including `mount`.
//   CFuse3      — system library: libfuse3's low-level API (FUSE_USE_VERSION 314).
//   CAuditFUSEShim — C for what Swift cannot import from libfuse (macros, variadic log hook).
//   AuditDaemon — the mount daemon (Sources/AuditDaemon, with the libfuse bridge in Sources/AuditFUSE
//                 and the mount command in Sources/auditfs for now); the only target that imports libfuse.
let package = Package(
    name: "auditfs",
    platforms: [.macOS(.v14)],
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
        .target(
            name: "AuditStore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            exclude: ["FORMAT.md"]
        ),
        .target(
            name: "AuditPolicy",
            dependencies: [
                "AuditStore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The /.audit record types (Codable), shared by the daemon and the readers.
        .target(name: "AuditRecords", dependencies: ["AuditPolicy"]),
        // The query index (cache/query), filters and the follower of new records. No libfuse.
        .target(name: "AuditQuery", dependencies: ["AuditStore", "AuditPolicy", "AuditRecords"]),
        // Handing checkpoints to witnesses (directory, command) off the FUSE threads; running child commands.
        .target(name: "AuditWitness", dependencies: ["AuditStore"]),
        .target(
            name: "AuditCLI",
            dependencies: [
                "AuditStore", "AuditPolicy", "AuditRecords", "AuditQuery", "AuditWitness",
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
        // The mount daemon. Its files are in their final places (Sources/AuditDaemon: the daemon's
        // logic; Sources/AuditFUSE: the libfuse bridge; Sources/auditfs: the mount command and
        // backgrounding); until the daemon's handlers stop taking fuse_req_t they still compile as
        // one module.
        .target(
            name: "AuditDaemon",
            dependencies: [
                "AuditStore", "AuditPolicy", "AuditCLI", "CFuse3", "CAuditFUSEShim",
                "AuditRecords", "AuditWitness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "FlyingFox", package: "FlyingFox"),
            ],
            path: "Sources",
            sources: ["AuditDaemon", "AuditFUSE", "auditfs/MountCommand.swift", "auditfs/Background.swift"]
        ),
        .executableTarget(name: "auditfs", dependencies: ["AuditCLI", "AuditDaemon"],
                          exclude: ["MountCommand.swift", "Background.swift"]),
        .testTarget(name: "AuditDaemonTests", dependencies: ["AuditDaemon", "AuditStore", "AuditPolicy"]),
        .testTarget(name: "AuditStoreTests", dependencies: ["AuditStore"]),
        // The commands run in-process: a failing command throws and its defers run.
        .testTarget(name: "AuditCLITests", dependencies: ["AuditCLI", "AuditStore",
                                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "AuditPolicyTests", dependencies: ["AuditPolicy"]),
        .testTarget(name: "AuditWitnessTests", dependencies: ["AuditWitness", "AuditStore"]),
        .testTarget(name: "AuditQueryTests", dependencies: ["AuditQuery", "AuditStore", "AuditRecords"]),
        // Seeded mutation fuzzing of every reader of outside input (docs/TESTING.md).
        .testTarget(name: "AuditFuzzTests", dependencies: ["AuditStore", "AuditPolicy", "AuditQuery", "AuditRecords"]),
        // bench/store.sh: opening time and memory of a store of millions of blocks.
        .executableTarget(name: "store-bench", dependencies: ["AuditStore"], path: "bench/StoreBench"),
        // bench/query.py and Tests/integration/test_query.py: a store of generated decision records.
        .executableTarget(name: "query-gen", dependencies: ["AuditStore", "AuditRecords"], path: "bench/QueryGen"),
    ],
    swiftLanguageModes: [.v6]
)
