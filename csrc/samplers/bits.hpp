// Portable bit tricks for the samplers (GCC, Clang and MSVC).
#pragma once

#include <cstdint>
#include <cstring>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

namespace tunecore::samplers {

// Index of the lowest set bit of x != 0.
inline int lowest_set_bit(std::uint64_t x) {
#if defined(_MSC_VER) && !defined(__clang__)
    unsigned long index;
    _BitScanForward64(&index, x);
    return static_cast<int>(index);
#else
    return __builtin_ctzll(x);
#endif
}

// Parity (number of set bits mod 2) of x.
inline int parity(std::uint64_t x) {
    x ^= x >> 32;
    x ^= x >> 16;
    x ^= x >> 8;
    x ^= x >> 4;
    x ^= x >> 2;
    x ^= x >> 1;
    return static_cast<int>(x & 1u);
}

// The top 52 bits of x as a double in [0, 1): they become the mantissa of a number in [1, 2)
// and 1 is subtracted exactly. Unlike an integer-to-double conversion this vectorizes on any
// x86-64, and every value with at most 52 significant bits (all of SciPy's 30-bit Sobol'
// points) comes out exactly.
inline double top52_to_unit(std::uint64_t x) {
    const std::uint64_t bits = 0x3FF0000000000000ull | (x >> 12);
    double value;
    std::memcpy(&value, &bits, sizeof value);
    return value - 1.0;
}

}  // namespace tunecore::samplers
