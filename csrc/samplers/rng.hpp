// Counter-based and sequential random bits shared by the samplers.
//
// Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011) maps a 128-bit counter and a 64-bit key to 128 random bits; the same inputs give
// the same bits on every platform, so a point that depends only on (seed, counter) can be drawn
// in any order and on any thread. tunecore keys every stream with the user's seed and uses the
// last counter word as a stream tag, so the samplers never share random bits.
//
// Xoshiro256pp (Blackman and Vigna's xoshiro256++) is a fast sequential generator for bulk
// work inside one task (one Latin hypercube column); each one is seeded from Philox, so it too
// is a pure function of (seed, stream).
#pragma once

#include <cstdint>

namespace tunecore::samplers {

// Stream tags (last Philox counter word): one per use, never reused.
enum StreamTag : std::uint32_t {
    kTagRandom = 0x52414e44u,       // Random rows
    kTagSobolShift = 0x534f4253u,   // Sobol digital shift
    kTagSobolMatrix = 0x534f424du,  // Sobol linear matrix scramble
    kTagHalton = 0x48414c54u,       // Halton digit permutations
    kTagLhs = 0x4c485343u,          // Latin hypercube columns
    kTagLhsOpt = 0x4c48534fu,       // Latin hypercube optimization proposals
};

struct Philox4x32 {
    std::uint32_t v[4];
};

// Philox4x32-10 of counter (c0, c1, c2, c3) under key (k0, k1).
inline Philox4x32 philox4x32_10(std::uint32_t c0, std::uint32_t c1, std::uint32_t c2,
                                std::uint32_t c3, std::uint32_t k0, std::uint32_t k1) {
    constexpr std::uint64_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
    constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
    for (int round = 0; round < 10; ++round) {
        const std::uint64_t p0 = kM0 * c0;
        const std::uint64_t p1 = kM1 * c2;
        const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32);
        const std::uint32_t lo0 = static_cast<std::uint32_t>(p0);
        const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32);
        const std::uint32_t lo1 = static_cast<std::uint32_t>(p1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += kW0;
        k1 += kW1;
    }
    return {{c0, c1, c2, c3}};
}

// 128 bits for (seed, a, b, tag), as two 64-bit words.
inline void philox_words(std::uint64_t seed, std::uint64_t a, std::uint32_t b, std::uint32_t tag,
                         std::uint64_t* w0, std::uint64_t* w1) {
    const Philox4x32 r = philox4x32_10(
        static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(a >> 32), b, tag,
        static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
    *w0 = (static_cast<std::uint64_t>(r.v[1]) << 32) | r.v[0];
    *w1 = (static_cast<std::uint64_t>(r.v[3]) << 32) | r.v[2];
}

// Top 53 bits of a word as a double in [0, 1).
inline double unit_double(std::uint64_t w) {
    return static_cast<double>(w >> 11) * 0x1.0p-53;
}

class Xoshiro256pp {
  public:
    // Seeds the state from Philox(seed, (a, b), tag); the state is never all zero.
    Xoshiro256pp(std::uint64_t seed, std::uint64_t a, std::uint32_t b, std::uint32_t tag) {
        philox_words(seed, a, b, tag, &s_[0], &s_[1]);
        philox_words(seed, a, b ^ 0x80000000u, tag, &s_[2], &s_[3]);
        if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
    }

    std::uint64_t next() {
        const std::uint64_t out = rotl(s_[0] + s_[3], 23) + s_[0];
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return out;
    }

    double uniform() { return unit_double(next()); }

    // Uniform integer in [0, range), range in [1, 2^32]: Lemire's multiply-and-reject on the
    // high 32 bits of a word, so no modulo bias.
    std::uint32_t below(std::uint64_t range) {
        std::uint64_t m = (next() >> 32) * range;
        std::uint32_t low = static_cast<std::uint32_t>(m);
        if (low < range) {
            const std::uint32_t threshold =
                static_cast<std::uint32_t>((0x100000000ull - range) % range);
            while (low < threshold) {
                m = (next() >> 32) * range;
                low = static_cast<std::uint32_t>(m);
            }
        }
        return static_cast<std::uint32_t>(m >> 32);
    }

    // Same as below() on 32-bit halves of the words, two draws per word.
    std::uint32_t below32(std::uint64_t range) {
        std::uint64_t m = next32() * range;
        std::uint32_t low = static_cast<std::uint32_t>(m);
        if (low < range) {
            const std::uint32_t threshold =
                static_cast<std::uint32_t>((0x100000000ull - range) % range);
            while (low < threshold) {
                m = next32() * range;
                low = static_cast<std::uint32_t>(m);
            }
        }
        return static_cast<std::uint32_t>(m >> 32);
    }

  private:
    std::uint64_t next32() {
        if (has_half_) {
            has_half_ = false;
            return half_;
        }
        const std::uint64_t w = next();
        half_ = w & 0xFFFFFFFFu;
        has_half_ = true;
        return w >> 32;
    }

    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
    std::uint64_t half_ = 0;
    bool has_half_ = false;
};

}  // namespace tunecore::samplers
