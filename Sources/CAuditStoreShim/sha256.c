#include "CAuditStoreShim.h"

#include <stdint.h>

// BoringSSL's SHA256() as swift-crypto builds it: every BoringSSL symbol is
// prefixed with CCryptoBoringSSL_ (CCryptoBoringSSL_boringssl_prefix_symbols.h).
uint8_t *CCryptoBoringSSL_SHA256(const uint8_t *data, size_t len, uint8_t out[32]);

void auditfs_store_sha256(const void *data, size_t count, void *out) {
    CCryptoBoringSSL_SHA256((const uint8_t *)data, count, (uint8_t *)out);
}
