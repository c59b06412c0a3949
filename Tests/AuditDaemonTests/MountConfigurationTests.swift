import Glibc
import Testing
@testable import AuditDaemon

/// `-o` options, their precedence against the command line's, the bounds of
/// the numbers, and the metrics address parser: what `auditfs mount`
/// decides before anything is started.
@Suite struct MountConfigurationTests {
    static func parse(_ options: [String], policy: String? = nil, checkpoints: CheckpointSettings = CheckpointSettings(),
                      metrics: String? = nil, reserve: String? = nil,
                      decisionBudget: String? = nil) throws(MountError) -> MountConfiguration {
        try MountConfiguration(store: "/s", mountpoint: "/m", options: options, policy: policy, checkpoints: checkpoints,
                               metrics: metrics, reserve: reserve, decisionBudget: decisionBudget)
    }

    static func problem(_ options: [String]) -> String? {
        do { _ = try parse(options); return nil } catch { return error.message }
    }

    @Test func auditfsOptionsAreTakenOutAndTheRestGoesToLibfuseInOrder() throws {
        let c = try Self.parse(["ro,policy=/etc/p.yaml,max_read=4096", "metrics=9100", "checkpoint=fsync,checkpoint-interval=5",
                                "witness-dir=/w,reserve=5%,decision-budget=10/2,default_permissions", "noatime"])
        #expect(c.libfuseOptions == ["ro,max_read=4096", "noatime"])
        #expect(c.policy == .file("/etc/p.yaml"))
        #expect(c.metrics == "9100")
        #expect(c.checkpoints.onFsync && c.checkpoints.interval == 5 && c.checkpoints.witnessDirectory == "/w")
        #expect(c.reserve == "5%" && c.decisionBudget == "10/2")
        #expect(c.allLibfuseOptions == "allow_other,fsname=auditfs,subtype=auditfs,ro,max_read=4096,noatime")
    }

    @Test func defaultPermissionsIsDroppedTheDaemonChecksTheModeBitsItself() throws {
        #expect(try Self.parse(["default_permissions"]).libfuseOptions.isEmpty)
    }

    @Test func relativePathsAreMadeAbsoluteAgainstTheWorkingDirectory() throws {
        let c = try Self.parse(["policy=p.yaml,witness-dir=w"])
        let cwd = String(cString: getcwd(nil, 0))
        #expect(c.policy == .file(cwd + "/p.yaml"))
        #expect(c.checkpoints.witnessDirectory == cwd + "/w")
    }

    @Test(arguments: [
        ("checkpoint=always", "-o checkpoint=always: the only value is fsync"),
        ("checkpoint-interval=86401", "-o checkpoint-interval=86401: expected seconds from 0 to 86400 (a day)"),
        ("checkpoint-interval=-1", "-o checkpoint-interval=-1: expected seconds from 0 to 86400 (a day)"),
        ("checkpoint-interval=ten", "-o checkpoint-interval=ten: expected seconds from 0 to 86400 (a day)"),
        ("checkpoint-interval=", "-o checkpoint-interval=: expected seconds from 0 to 86400 (a day)"),
    ])
    func aValueAuditfsCannotUseIsOneLineOfError(option: String, message: String) {
        #expect(Self.problem([option]) == message)
    }

    @Test func historyIsOffByDefaultAndOnByEitherSwitch() throws {
        #expect(try Self.parse([]).history == false)
        let o = try Self.parse(["ro,history,noatime"])
        #expect(o.history && o.libfuseOptions == ["ro,noatime"])
        let flag = try MountConfiguration(store: "/s", mountpoint: "/m", options: [], policy: nil,
                                          checkpoints: CheckpointSettings(), metrics: nil, reserve: nil,
                                          decisionBudget: nil, history: true)
        #expect(flag.history && flag.libfuseOptions.isEmpty)
    }

    @Test(arguments: ["history=yes", "history=", "history=0"])
    func historyTakesNoValue(option: String) {
        #expect(Self.problem([option]) == "-o \(option): history takes no value")
    }

    /// A v1 store holds no rename records: a history mount of it is one line, before anything is written.
    @Test func aHistoryMountOfAFormatV1StoreIsRefusedWithOneLine() throws {
        let history = try Self.parse(["history"])
        #expect(history.historyProblem(store: "/var/lib/s", formatVersion: 1)
            == "store '/var/lib/s' is format v1, which records no renames; -o history needs a store made by this "
            + "auditfs (format v2)")
        #expect(history.historyProblem(store: "/var/lib/s", formatVersion: 2) == nil)
        #expect(try Self.parse([]).historyProblem(store: "/var/lib/s", formatVersion: 1) == nil)   // strict: v1 is fine
    }

    @Test func thePolicyGivenTwiceMustBeTheSameFile() throws {
        #expect(try Self.parse(["policy=/a.yaml"], policy: "/a.yaml").policy == .file("/a.yaml"))
        #expect(try Self.parse(["policy=/a.yaml"], policy: "/b.yaml").policy == .conflicting)
        #expect(try Self.parse([], policy: "/b.yaml").policy == .file("/b.yaml"))
        #expect(try Self.parse([]).policy == .builtin)
    }

    @Test func theCommandLineWinsForMetricsReserveAndBudgetTheOptionForTheWitnessDirectory() throws {
        var cp = CheckpointSettings()
        cp.witnessDirectory = "/cli"
        cp.interval = 30
        let c = try Self.parse(["metrics=1,reserve=1G,decision-budget=5,witness-dir=/opt"], checkpoints: cp,
                               metrics: "2", reserve: "2G", decisionBudget: "6")
        #expect(c.metrics == "2" && c.reserve == "2G" && c.decisionBudget == "6")
        #expect(c.checkpoints.witnessDirectory == "/opt")
        #expect(c.checkpoints.interval == 30)
        #expect(try Self.parse(["checkpoint-interval=0"], checkpoints: cp).checkpoints.interval == 0)
    }

    /// `--witness-url` and `-o witness-url=` add up, in order, without repeats; a URL auditfs
    /// cannot use is one line before anything starts.
    @Test func witnessURLsComeBothWaysAndAreChecked() throws {
        var cp = CheckpointSettings()
        cp.witnessURLs = ["https://a.example/w"]
        let c = try Self.parse(["witness-url=http://127.0.0.1:8080,noatime", "witness-url=https://a.example/w"], checkpoints: cp)
        #expect(c.checkpoints.witnessURLs == ["https://a.example/w", "http://127.0.0.1:8080"])
        #expect(c.libfuseOptions == ["noatime"])
        #expect(c.problem() == nil)
        #expect(try Self.parse(["witness-url=ftp://a.example"]).problem()?.hasPrefix("--witness-url ftp://a.example: expected an http") == true)
        #expect(try Self.parse(["witness-url=a.example/w"]).problem() != nil)
    }

    @Test func numbersOutOfBoundsAreOneLineBeforeAnythingStarts() throws {
        var cp = CheckpointSettings()
        cp.interval = 86_401
        #expect(try Self.parse([], checkpoints: cp).problem()
            == "--checkpoint-interval 86401: expected seconds from 0 to 86400 (a day)")
        cp.interval = 0
        cp.epochLength = -1
        #expect(try Self.parse([], checkpoints: cp).problem()
            == "--epoch-length -1: expected seconds from 0 (a new key at every checkpoint) to 31536000 (365 days)")
        cp.epochLength = 365 * 86_400
        #expect(try Self.parse([], checkpoints: cp).problem() == nil)
        #expect(try Self.parse([], metrics: "localhost").problem() == "--metrics 'localhost': expected PORT, ADDR:PORT or [ADDR6]:PORT")
    }

    @Test(arguments: [
        ("9100", "127.0.0.1", UInt16(9100)),
        (":9100", "127.0.0.1", 9100),
        ("0.0.0.0:80", "0.0.0.0", 80),
        ("[::1]:9100", "::1", 9100),
        ("[::]:1", "::", 1),
        ("10.0.0.1:65535", "10.0.0.1", 65535),
    ])
    func metricsAddresses(text: String, host: String, port: UInt16) throws {
        let a = try #require(MetricsServer.parse(text))
        #expect(a.host == host && a.port == port)
    }

    @Test(arguments: ["", "x", "65536", "-1", "1.2.3.4:", "[::1", "[::1]", "host:port", "9100 ", "١٢٣"])
    func metricsAddressesThatDoNotParse(text: String) {
        #expect(MetricsServer.parse(text) == nil)
    }
}
