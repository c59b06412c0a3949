import ArgumentParser

/// The subcommands that work on a store without FUSE. Both executables
/// (auditfs and the libfuse-free auditfs-check) offer them.
public enum StoreCommands {
    public static let all: [ParsableCommand.Type] = [
        InitCommand.self, AppendCommand.self, CatCommand.self, LsCommand.self, LogCommand.self, VerifyCommand.self,
        CheckpointCommand.self, ProveCommand.self, VerifyBundleCommand.self, PolicyCommand.self, QueryCommand.self,
        WatchCommand.self, ShipCommand.self, RestoreCommand.self, TilesCommand.self, LogKeyCommand.self,
    ]
    public static let readOnly: [ParsableCommand.Type] = [
        CatCommand.self, LsCommand.self, LogCommand.self, VerifyCommand.self, VerifyBundleCommand.self, QueryCommand.self,
        WatchCommand.self, RestoreCommand.self, TilesCommand.self,
    ]
}
