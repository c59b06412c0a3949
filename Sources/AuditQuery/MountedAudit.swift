import AuditPlumbing
import AuditRecords
import Foundation

/// Reading the /.audit files through a mount, for a user who cannot read
/// the store itself: no index, every decisions file is read and filtered
/// (what the policy lets this user read).
public enum MountedAudit {
    /// The decisions files under `auditDir` whose day can hold times in the filter's range.
    static func decisionFiles(_ auditDir: String, _ filter: QueryFilter) throws -> [String] {
        let dir = AuditLayout.path(AuditLayout.decisionsDirectory, in: auditDir)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { AuditLayout.day(ofDecisionsFile: $0) != nil }.sorted()
        let first = filter.since.map { Timestamps.day($0) }, last = filter.until.map { Timestamps.day($0) }
        return names.filter { name in
            guard let day = AuditLayout.day(ofDecisionsFile: name) else { return false }
            if let first, day < first { return false }
            if let last, day > last { return false }
            return true
        }.map { dir + "/" + $0 }
    }

    public static func search(_ auditDir: String, _ filter: QueryFilter, _ body: (DecisionRecord?, [UInt8]) throws -> Void) throws {
        let decoder = JSONDecoder()
        for file in try decisionFiles(auditDir, filter) {
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            for line in data.split(separator: 0x0A) where !line.isEmpty {
                guard let d = try? decoder.decode(DecisionRecord.self, from: Data(line)), filter.matches(d) else { continue }
                try body(d, Array(line))
            }
        }
    }
}

import AuditStore
