import AuditPlumbing
import Testing
import Glibc

/// Hex, padding, socket addresses, the error line and command names.
@Suite struct SmallHelpersTests {
    @Test func hexRoundTripsAndRefusesWhatIsNotHex() {
        let all = (0...255).map(UInt8.init)
        let text = Hex.encode(all)
        #expect(text.hasPrefix("000102") && text.hasSuffix("fdfeff") && text.utf8.count == 512)
        #expect(Hex.decode(text) == all)
        #expect(Hex.decode(text.uppercased()) == all)
        for bad in ["0", "0g", "g0", "０1", "-1", " 01"] { #expect(Hex.decode(bad) == nil, "\(bad)") }
        #expect(Hex.decode("") == [])
        #expect(Hex.uint32(0xa) == "0000000a" && Hex.uint32(.max) == "ffffffff")
        #expect(Hex.escaped(0x1b) == "\\x1b")
    }

    @Test func paddingNeverCuts() {
        #expect("7".leftPadded(3) == "007" && "1234".leftPadded(2) == "1234" && "ab".leftPadded(4, " ") == "  ab")
        #expect("ab".rightPadded(4) == "ab  " && "abcdef".rightPadded(4) == "abcdef")
    }

    @Test func socketPathsThatDoNotFitAreRefusedNotCut() throws {
        let fits = "/" + String(repeating: "s", count: UnixSocketAddress.capacity - 2)
        _ = try UnixSocketAddress(path: fits)
        #expect(throws: UnixSocketAddress.Invalid.self) { try UnixSocketAddress(path: fits + "s") }
        #expect(throws: UnixSocketAddress.Invalid.self) { try UnixSocketAddress(path: "") }
        #expect(throws: UnixSocketAddress.Invalid.self) { try UnixSocketAddress(pathOrAbstract: "@") }
        let abstract = try UnixSocketAddress(pathOrAbstract: "@name")
        #expect(abstract.length == socklen_t(MemoryLayout<sa_family_t>.size + 5))
        abstract.withSockaddr { sa, _ in
            sa.withMemoryRebound(to: sockaddr_un.self, capacity: 1) { un in
                withUnsafeBytes(of: un.pointee.sun_path) { #expect(Array($0.prefix(5)) == [0] + Array("name".utf8)) }
            }
        }
    }

    @Test func aPathSocketConnectsToAListener() throws {
        let path = "/tmp/auditfs-plumbing-\(getpid()).sock"
        unlink(path)
        defer { unlink(path) }
        let address = try UnixSocketAddress(path: path)
        let server = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0), client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(server); close(client) }
        #expect(address.bind(server) == 0 && listen(server, 1) == 0)
        #expect(address.connect(client) == 0)
    }

    @Test func theErrorLineIsOneLine() {
        #expect(ErrorLine.text("store '/x\ny': gone") == "auditfs: store '/x\\ny': gone\n")
        #expect(ErrorLine.text("\u{1b}[2Jpath") == "auditfs: \\x1b[2Jpath\n")
    }

    @Test func thisProcessHasACommandNameAndAGoneOneHasNone() {
        let mine = CommandName.read(pid: UInt32(getpid()))
        #expect(mine != nil && !(mine?.isEmpty ?? true) && mine?.last != UInt8(ascii: "\n"))
        #expect(CommandName.read(pid: UInt32.max) == nil)
        #expect(CommandName.read(fd: -1) == nil)
    }
}
