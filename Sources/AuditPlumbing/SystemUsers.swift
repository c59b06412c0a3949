import Glibc

/// The system's user database (NSS: /etc/passwd, /etc/group, LDAP…).
public enum SystemUsers {
    public static func uid(ofUser name: String) -> UInt32? {
        getpwnam(name).map { $0.pointee.pw_uid }
    }

    public static func gid(ofGroup name: String) -> UInt32? {
        getgrnam(name).map { $0.pointee.gr_gid }
    }

    /// The name of a uid, or nil. Thread-safe (getpwuid_r): callers need no lock.
    public static func userName(_ uid: UInt32) -> String? {
        name(passwd(), { getpwuid_r(uid, $0, $1, $2, $3) }, { $0.pw_name })
    }

    /// The name of a gid, or nil. Thread-safe (getgrgid_r): callers need no lock.
    public static func groupName(_ gid: UInt32) -> String? {
        name(group(), { getgrgid_r(gid, $0, $1, $2, $3) }, { $0.gr_name })
    }

    /// One reentrant lookup (getpwuid_r, getgrgid_r): `entry` is filled
    /// with pointers into a buffer that grows on ERANGE, up to 1 MiB.
    private static func name<Entry>(
        _ empty: Entry,
        _ call: (UnsafeMutablePointer<Entry>, UnsafeMutablePointer<CChar>, Int, UnsafeMutablePointer<UnsafeMutablePointer<Entry>?>) -> Int32,
        _ field: (Entry) -> UnsafeMutablePointer<CChar>?
    ) -> String? {
        var size = 1024
        while size <= 1 << 20 {
            var entry = empty
            var result: UnsafeMutablePointer<Entry>?
            var buf = [CChar](repeating: 0, count: size)
            let rc = buf.withUnsafeMutableBufferPointer { b in call(&entry, b.baseAddress!, size, &result) }
            if rc == ERANGE { size *= 4; continue }
            guard rc == 0, result != nil, let name = field(entry) else { return nil }
            return buf.withUnsafeBufferPointer { _ in String(cString: name) }   // the name points into buf
        }
        return nil
    }

    /// The ids a login of `user` (a name or a numeric uid) would have: its
    /// uid, primary gid and supplementary groups (getgrouplist). A number
    /// that names no user is that uid, with itself as gid and no groups.
    public static func account(_ user: String) -> (uid: UInt32, gid: UInt32, groups: [UInt32])? {
        guard let pw = (UInt32(user).flatMap { getpwuid($0) }) ?? getpwnam(user) else {
            return UInt32(user).map { ($0, $0, []) }
        }
        let uid = pw.pointee.pw_uid, gid = pw.pointee.pw_gid
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(pw.pointee.pw_name, gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(pw.pointee.pw_name, gid, &groups, &count)
        }
        return (uid, gid, Array(groups.prefix(Int(max(count, 0)))))
    }
}
