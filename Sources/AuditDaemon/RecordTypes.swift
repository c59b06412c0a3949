// The /.audit record types live in the libfuse-free AuditRecords target
// (query, watch and auditfs-check decode them); the daemon's files see them
// through this re-export.
@_exported import AuditRecords
