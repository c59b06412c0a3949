#include "CAuditStoreShim.h"

#include <cpuid.h>
#include <stdint.h>
#include <string.h>

// BoringSSL's SHA256() as swift-crypto builds it: every BoringSSL symbol is
// prefixed with CCryptoBoringSSL_ (CCryptoBoringSSL_boringssl_prefix_symbols.h).
uint8_t *CCryptoBoringSSL_SHA256(const uint8_t *data, size_t len, uint8_t out[32]);

#if defined(__x86_64__)
// BoringSSL's SHA-NI block function (crypto/fipsmodule/sha/internal.h,
// sha256-x86_64 assembly): hidden, but linked into the same binary, so it
// can be called from here. Only when the CPU has the SHA extensions and
// SSSE3 (BoringSSL's own test, sha256_hw_capable()).
void CCryptoBoringSSL_sha256_block_data_order_hw(uint32_t state[8], const uint8_t *data, size_t num);

static int sha_ni;

__attribute__((constructor)) static void auditfs_store_sha256_probe(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3)) return;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
    sha_ni = (b & bit_SHA) != 0;
}

static const uint32_t initial[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

// FIPS 180-4 SHA-256: the message's whole blocks straight from `data`, then
// the rest with the padding (0x80, zeros, the bit length big-endian) in one
// or two blocks on the stack.
static void sha256_hw(const uint8_t *data, size_t count, uint8_t *out) {
    uint32_t h[8];
    memcpy(h, initial, sizeof h);
    size_t whole = count / 64;
    if (whole) CCryptoBoringSSL_sha256_block_data_order_hw(h, data, whole);
    size_t rest = count - whole * 64;
    uint8_t tail[128];
    size_t blocks = rest + 9 <= 64 ? 1 : 2;
    memset(tail, 0, blocks * 64);
    if (rest) memcpy(tail, data + whole * 64, rest);
    tail[rest] = 0x80;
    uint64_t bits = (uint64_t)count * 8;
    for (int i = 0; i < 8; i++) tail[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
    CCryptoBoringSSL_sha256_block_data_order_hw(h, tail, blocks);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24); out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8); out[4 * i + 3] = (uint8_t)h[i];
    }
}
#endif

void auditfs_store_sha256(const void *data, size_t count, void *out) {
#if defined(__x86_64__)
    if (sha_ni) { sha256_hw((const uint8_t *)data, count, (uint8_t *)out); return; }
#endif
    CCryptoBoringSSL_SHA256((const uint8_t *)data, count, (uint8_t *)out);
}

int auditfs_store_sha256_direct(void) {
#if defined(__x86_64__)
    return sha_ni;
#else
    return 0;
#endif
}
