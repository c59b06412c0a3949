import ArgumentParser
import AuditStore
import Foundation
import Testing
@testable import AuditCLI

/// A command that fails throws (`CommandFailure`) instead of exiting: its
/// `defer` runs, so the store it opened is closed, and the same process can
/// open the store for writing at once.
@Suite(.serialized) struct CommandFailureTests {
    struct Root: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "auditfs", subcommands: StoreCommands.all)
    }

    final class Temp {
        let path: String
        init() {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("auditfs-cli-\(UUID().uuidString)").path
            try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    static func run(_ arguments: String...) -> Int32 { CommandLineMain.run(Root.self, arguments: arguments) }

    @Test func aCheckpointThatFailsAfterOpeningClosesTheStore() throws {
        let tmp = Temp()
        let store = tmp.path + "/s"
        #expect(Self.run("init", store) == 0)
        try FileManager.default.removeItem(atPath: store + "/cache/index")   // written by init's close
        // The store opens for writing, then the checkpointer cannot be made:
        // status 2, as the one-line error has always had.
        #expect(Self.run("checkpoint", store, "--keys", tmp.path + "/no-keys") == 2)
        // Closed by the command's defer: the index is written and the lock free.
        #expect(FileManager.default.fileExists(atPath: store + "/cache/index"))
        let s = try Store.open(at: store, mode: .readWrite)
        s.close()
    }

    @Test func theFailureCarriesItsStatusAndItsLine() throws {
        let tmp = Temp()
        let store = tmp.path + "/s"
        #expect(Self.run("init", store) == 0)
        var cat = try Root.parseAsRoot(["cat", store, "/missing"])
        #expect(throws: CommandFailure(StoreError.noSuchFile("/missing").description, code: 2)) { try cat.run() }
        var append = try Root.parseAsRoot(["append", store, "/.audit/x"])
        do {
            try append.run()
            Issue.record("append into /.audit ran")
        } catch let f as CommandFailure {
            #expect(f.code == 1 && f.line?.hasPrefix("'/.audit/x' is in the audit namespace") == true, "\(f)")
        }
        // A line is escaped once, when the failure is made: a name cannot start a line of its own.
        #expect(CommandFailure("'a\nb'").line == "'a\\nb'")
        #expect(Self.run("cat", store, "/missing") == 2)
        #expect(Self.run("verify", store) == 0)
    }
}
