// C for the store that Swift cannot reach through swift-crypto's API.
// Every function carries the auditfs_store_ prefix and says why it exists.
#ifndef AUDITFS_CAUDITSTORESHIM_H
#define AUDITFS_CAUDITSTORESHIM_H

#include <stddef.h>

/// SHA-256 (FIPS 180-4) of `count` bytes at `data`, written to the 32 bytes
/// at `out`: BoringSSL's one-shot SHA256(), the same code swift-crypto's
/// SHA256 runs (SHA-NI where the CPU has it), with the context on the stack.
///
/// Why: SHA256.hash(data:) allocates a digest-context object for every call,
/// copies it to finalize and zeroes both copies; for the short inputs the
/// store hashes (a 12-byte frame prefix, a ~160-byte header, a 33-byte Merkle
/// leaf, a 65-byte node) that set-up costs more than the hashing. Measured
/// with callgrind on `auditfs verify` of 100,000 nginx-like lines: 37.0k
/// instructions a record before, 28.0k with this (and the memoised prefix
/// checks). swift-crypto does not export BoringSSL
/// (CCryptoBoringSSL is not one of its products), so the prototype is
/// declared in the .c file: the symbol is linked into every binary that links
/// Crypto, which AuditStore does.
///
/// Where the CPU has the SHA extensions (SHA-NI) and SSSE3 it calls
/// BoringSSL's SHA-NI block function directly, padding the last block(s)
/// on the stack: SHA256()'s context set-up, dispatch (a CPU-capability
/// lookup per call) and finalisation were ~30% of the hashing time of
/// `auditfs verify` on short records (perf, docs/MOUNT.md "Benchmark").
/// Elsewhere it calls SHA256(). Tested against swift-crypto's SHA256 for
/// every length 0-300 and random inputs (HashBatchTests).
void auditfs_store_sha256(const void *data, size_t count, void *out);

/// 1 when `auditfs_store_sha256` runs the SHA-NI path (for the tests).
int auditfs_store_sha256_direct(void);

#endif
