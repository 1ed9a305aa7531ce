// A counter-based generator: every random number is a pure function of (seed, stream, counter),
// written with 64-bit integer arithmetic only, so it gives the same bits on every platform and
// standard library (std::uniform_real_distribution does not).
#pragma once

#include <cstdint>

namespace tunecore::mlp {

// SplitMix64's finalizer: a bijective mix of 64 bits with full avalanche.
inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// 64 random bits for position `counter` of stream `stream` under `seed`.
inline uint64_t random_bits(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint64_t key = mix64(seed ^ mix64(stream + 0x9e3779b97f4a7c15ULL));
    return mix64(key + counter * 0x9e3779b97f4a7c15ULL);
}

// A double in [0, 1) with 53 random bits.
inline double random_unit(uint64_t seed, uint64_t stream, uint64_t counter) {
    return static_cast<double>(random_bits(seed, stream, counter) >> 11) * 0x1.0p-53;
}

// An integer in [0, bound), bound >= 1, unbiased: draws above the largest multiple of bound
// are rejected. Retries use counters counter + 2^40, counter + 2^41, ..., which stay distinct
// from the counters of other calls as long as fewer than 2^40 calls share a stream.
inline uint64_t random_below(uint64_t seed, uint64_t stream, uint64_t counter, uint64_t bound) {
    const uint64_t limit = UINT64_MAX - (UINT64_MAX % bound + 1) % bound;  // accept x <= limit
    for (uint64_t attempt = 0;; ++attempt) {
        uint64_t x = random_bits(seed, stream, counter + (attempt << 40));
        if (x <= limit) return x % bound;
    }
}

}  // namespace tunecore::mlp
