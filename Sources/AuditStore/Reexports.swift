// Temporary, for one landing: the shared helpers moved from AuditStore to
// AuditPlumbing, and the targets that used them through AuditStore (the
// daemon, the benchmarks) see them here until they import AuditPlumbing.
@_exported import AuditPlumbing
