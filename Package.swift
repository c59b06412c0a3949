// swift-tools-version:6.0
import PackageDescription

// Layout (see README.md, "Architecture"):
//   AuditStore  — the store: on-disk format, Merkle tree, index, checker. No libfuse.
//   AuditCLI    — the subcommands that work on a store without FUSE.
//   auditfs-check — the checker alone (verify/log/cat/ls), for hosts without libfuse.
//   auditfs     — everything, including `mount`.
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
    ],
    targets: [
        .target(
            name: "AuditStore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            exclude: ["FORMAT.md"]
        ),
        .target(
            name: "AuditCLI",
            dependencies: [
                "AuditStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "auditfs-check", dependencies: ["AuditCLI"]),
        .executableTarget(name: "auditfs", dependencies: ["AuditCLI"]),
        .testTarget(name: "AuditStoreTests", dependencies: ["AuditStore"]),
    ],
    swiftLanguageModes: [.v6]
)
