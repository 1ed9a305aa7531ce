#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>


#include "samplers/bits.hpp"
#include "common/fork_safety.hpp"
#include "samplers/rng.hpp"
#include "samplers/samplers.hpp"

namespace tunecore::samplers {

namespace {
#include "samplers/sobol_directions.inc"

constexpr int kBits = 64;  // direction numbers carry 64 bits: 2^63 points before repeating

// Direction numbers V_1..V_64 of dimension j, V_k = m_k 2^(64 - k), into v[(k - 1) * stride].
// For k > s the Bratley-Fox recurrence of the primitive polynomial
// x^s + a_1 x^(s-1) + ... + a_(s-1) x + 1 gives
//     V_k = V_(k-s) ^ (V_(k-s) >> s) ^ a_1 V_(k-1) ^ ... ^ a_(s-1) V_(k-s+1).
void direction_numbers(int j, std::size_t offset, std::uint64_t* v, int stride) {
    const std::uint32_t poly = kSobolPoly[j];
    int s = 0;
    while ((poly >> (s + 1)) != 0) ++s;
    std::uint64_t V[kBits + 1];
    if (s == 0) {  // first dimension: van der Corput in base 2, every m_k = 1
        for (int k = 1; k <= kBits; ++k) V[k] = 1ull << (kBits - k);
    } else {
        for (int k = 1; k <= s; ++k) {
            V[k] = static_cast<std::uint64_t>(kSobolInit[offset + k - 1]) << (kBits - k);
        }
        for (int k = s + 1; k <= kBits; ++k) {
            std::uint64_t value = V[k - s] ^ (V[k - s] >> s);
            for (int i = 1; i < s; ++i) {
                if ((poly >> (s - i)) & 1u) value ^= V[k - i];
            }
            V[k] = value;
        }
    }
    for (int k = 1; k <= kBits; ++k) v[static_cast<std::size_t>(k - 1) * stride] = V[k];
}

}  // namespace

int SobolEngine::max_dim() { return kSobolMaxDim; }

SobolEngine::SobolEngine(int d, bool scramble, std::uint64_t seed)
    : d_(d), v_(static_cast<std::size_t>(kBits) * (d > 0 ? d : 0)), shift_(d > 0 ? d : 0, 0) {
    if (d < 1 || d > kSobolMaxDim) {
        throw std::invalid_argument("d must be in [1, " + std::to_string(kSobolMaxDim) +
                                    "], got " + std::to_string(d));
    }
    std::size_t offset = 0;
    for (int j = 0; j < d; ++j) {
        direction_numbers(j, offset, v_.data() + j, d);
        const std::uint32_t poly = kSobolPoly[j];
        int s = 0;
        while ((poly >> (s + 1)) != 0) ++s;
        offset += static_cast<std::size_t>(s);
    }
    if (!scramble) return;

    // Linear matrix scramble: each column's generator matrix C becomes L C, L a random
    // nonsingular lower-triangular binary matrix (output bit p mixes in the input bits more
    // significant than p), which keeps the (t, m, s)-net property; then a random digital shift.
    for (int j = 0; j < d; ++j) {
        std::uint64_t mask[kBits];  // mask[i]: row of L for output bit position 63 - i
        for (int i = 0; i < kBits; i += 2) {
            std::uint64_t w0, w1;
            philox_words(seed, static_cast<std::uint64_t>(j), static_cast<std::uint32_t>(i),
                         kTagSobolMatrix, &w0, &w1);
            mask[i] = w0;
            mask[i + 1] = w1;
        }
        for (int i = 0; i < kBits; ++i) {
            const int p = kBits - 1 - i;
            const std::uint64_t above = (p == kBits - 1) ? 0 : ~((2ull << p) - 1);
            mask[i] = (mask[i] & above) | (1ull << p);
        }
        for (int k = 0; k < kBits; ++k) {
            const std::uint64_t vk = v_[static_cast<std::size_t>(k) * d + j];
            std::uint64_t scrambled = 0;
            for (int i = 0; i < kBits; ++i) {
                scrambled |= static_cast<std::uint64_t>(parity(mask[i] & vk)) << (kBits - 1 - i);
            }
            v_[static_cast<std::size_t>(k) * d + j] = scrambled;
        }
        std::uint64_t w0, w1;
        philox_words(seed, static_cast<std::uint64_t>(j), 0, kTagSobolShift, &w0, &w1);
        shift_[j] = w0;
    }
}

void SobolEngine::fill(double* out, std::int64_t n, std::uint64_t start) const {
    // out: (n, d) row-major, row i = point start + i. Point k is the shift XOR the direction
    // numbers selected by the bits of gray(k) = k ^ (k >> 1); from k to k + 1 exactly one bit
    // of gray(k) flips, the lowest set bit of k + 1. Each chunk builds its first point
    // directly and walks on, so the split never changes a value.
    const int d = d_;
    const std::uint64_t* v = v_.data();
    const std::int64_t work = n * static_cast<std::int64_t>(d);
    // Chunks of 16384 rows, handed out dynamically: a thread that loses its core (a busy
    // machine) delays only its current chunk.
    constexpr std::int64_t kChunk = 16384;
    const std::int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(dynamic) if (work > 65536 && parallel_regions_safe())
    for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
        const std::int64_t lo = chunk * kChunk;
        const std::int64_t hi = std::min<std::int64_t>(n, lo + kChunk);
        {
            std::vector<std::uint64_t> x(shift_);
            const std::uint64_t k0 = start + static_cast<std::uint64_t>(lo);
            const std::uint64_t gray = k0 ^ (k0 >> 1);
            for (int b = 0; b < kBits; ++b) {
                if ((gray >> b) & 1u) {
                    const std::uint64_t* vb = v + static_cast<std::size_t>(b) * d;
                    for (int j = 0; j < d; ++j) x[j] ^= vb[j];
                }
            }
            std::uint64_t* xs = x.data();
            double* row = out + lo * d;
            for (int j = 0; j < d; ++j) row[j] = top52_to_unit(xs[j]);
            for (std::int64_t i = lo + 1; i < hi; ++i) {
                const std::uint64_t k = start + static_cast<std::uint64_t>(i);
                const std::uint64_t* vb = v + static_cast<std::size_t>(lowest_set_bit(k)) * d;
                row = out + i * d;
                for (int j = 0; j < d; ++j) {
                    xs[j] ^= vb[j];
                    row[j] = top52_to_unit(xs[j]);
                }
            }
        }
    }
}

}  // namespace tunecore::samplers
