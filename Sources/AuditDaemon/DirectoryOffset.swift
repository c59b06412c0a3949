/// The offsets readdir hands out, and the only state of an open directory.
///
/// A directory's entries, in the order they were placed in it, only ever
/// grow (`Namespace.Node.childOrder`); an entry renamed or retired away
/// (history mode) leaves its position empty, never reused: position i
/// names the same entry for ever. An offset is such a position, shifted past
/// the entries every listing starts with, so a handle needs no memory of its
/// own and a listing read in many readdir calls neither skips nor repeats a
/// name, whatever is created meanwhile (a name created after opendir may
/// appear or not).
///
///     0  "."            1  ".."
///     2  /.audit/checkpoint, in /.audit once a checkpoint exists; skipped elsewhere
///     3 + i              the i-th entry placed in the directory (empty positions skipped)
///
/// The offset given with an entry is the position of the next one.
enum DirectoryOffset {
    static let dot = 0
    static let dotDot = 1
    static let checkpoint = 2
    static let firstEntry = 3

    /// The most entries `bytes` of a readdir reply can hold: an entry takes
    /// at least 32 bytes (a 24-byte fuse_dirent and its name, 8-byte aligned).
    static func fitting(_ bytes: Int) -> Int { max(1, bytes / 32) }
}
