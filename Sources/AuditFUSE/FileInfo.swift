import CFuse3
import FUSEInterface

extension Opened {
    /// Puts the answer of an open (or the open part of a create) into the
    /// `fuse_file_info` libfuse sends back to the kernel. Flags left false
    /// stay as libfuse set them (cleared).
    func fill(_ fi: UnsafeMutablePointer<fuse_file_info>) {
        fi.pointee.fh = handle
        if directIO { fi.pointee.direct_io = 1 }
        if keepCache { fi.pointee.keep_cache = 1 }
        if nonSeekable { fi.pointee.nonseekable = 1 }
    }
}
