// Halton points must equal SciPy's bit for bit when unscrambled, so the sum of digit terms
// keeps SciPy's order and rounding: no fused multiply-add may be contracted here.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#elif defined(_MSC_VER)
#pragma fp_contract(off)
#endif

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "common/fork_safety.hpp"
#include "samplers/rng.hpp"
#include "samplers/samplers.hpp"

namespace tunecore::samplers {

namespace {

std::vector<std::uint32_t> first_primes(int count) {
    std::vector<std::uint32_t> primes;
    primes.reserve(static_cast<std::size_t>(count));
    for (std::uint32_t k = 2; static_cast<int>(primes.size()) < count; ++k) {
        bool prime = true;
        for (std::uint32_t p : primes) {
            if (static_cast<std::uint64_t>(p) * p > k) break;
            if (k % p == 0) {
                prime = false;
                break;
            }
        }
        if (prime) primes.push_back(k);
    }
    return primes;
}

constexpr std::uint64_t kLowTable = 4096;  // largest low-digit table per base (32 KiB)
constexpr std::int64_t kRowBlock = 2048;   // rows per task: a block of out stays in cache
const double kBelowOne = 0x1.fffffffffffffp-1;

}  // namespace

HaltonEngine::HaltonEngine(int d, bool scramble, std::uint64_t seed)
    : d_(d), scramble_(scramble) {
    if (d < 1) throw std::invalid_argument("d must be at least 1, got " + std::to_string(d));
    const std::vector<std::uint32_t> primes = first_primes(d);
    bases_.resize(static_cast<std::size_t>(d));
    for (int j = 0; j < d; ++j) {
        Base& base = bases_[j];
        const std::uint32_t b = primes[j];
        base.b = b;

        // positions: enough base-b digits for any 64-bit index.
        int positions = 0;
        for (std::uint64_t span = 1; ; ++positions) {
            if (span > UINT64_MAX / b) {
                ++positions;
                break;
            }
            span *= b;
        }
        base.weight.resize(static_cast<std::size_t>(positions));
        double b2r = 1.0 / b;  // SciPy's weights: 1/b, then divided by b at every digit
        for (int k = 0; k < positions; ++k) {
            base.weight[k] = b2r;
            b2r /= b;
        }

        // Low table over the c lowest digits, b^c <= kLowTable. Primes above kLowTable get
        // no table (c = 0, one entry): they have few digits, and a table of b values per
        // dimension would cost more memory than it saves time.
        base.low_digits = 0;
        base.block = 1;
        while (base.block * b <= kLowTable) {
            base.block *= b;
            ++base.low_digits;
        }
        base.low.resize(base.block);

        if (!scramble) {
            // Same order as SciPy: from the lowest digit up, one rounding per step.
            for (std::uint64_t lo = 0; lo < base.block; ++lo) {
                double sum = 0.0;
                int k = 0;
                for (std::uint64_t q = lo; q > 0; q /= b, ++k) {
                    sum += static_cast<double>(q % b) * base.weight[k];
                }
                base.low[lo] = sum;
            }
            continue;
        }

        // Random digit permutations, one per digit position (Owen 2017, algorithm 1): digit
        // a at position k contributes perm[k][a] b^-(k+1), and the zero digits above the
        // index's leading digit are permuted too (their sum is the tail).
        // Positions k with b^(k+1) >= 2^54 weigh less than a double's last bit and keep no
        // permutation (SciPy's count, ceil(54 / log2 b) - 1); the digits there are ignored.
        int scrambled = 0;
        for (std::uint64_t span = 1; span <= ((std::uint64_t{1} << 54) - 1) / b; span *= b) {
            ++scrambled;
        }
        positions = std::max(scrambled, base.low_digits);
        base.perm.resize(static_cast<std::size_t>(positions) * b);
        for (int k = 0; k < positions; ++k) {
            std::uint32_t* perm = base.perm.data() + static_cast<std::size_t>(k) * b;
            for (std::uint32_t a = 0; a < b; ++a) perm[a] = a;
            Xoshiro256pp rng(seed, static_cast<std::uint64_t>(j), static_cast<std::uint32_t>(k),
                             kTagHalton);
            for (std::uint32_t a = b - 1; a > 0; --a) std::swap(perm[a], perm[rng.below(a + 1)]);
        }
        base.tail.assign(static_cast<std::size_t>(positions) + 1, 0.0);
        for (int k = positions - 1; k >= 0; --k) {
            base.tail[k] = base.tail[k + 1] +
                           base.perm[static_cast<std::size_t>(k) * b] * base.weight[k];
        }
        for (std::uint64_t lo = 0; lo < base.block; ++lo) {
            double sum = 0.0;
            for (int k = base.low_digits - 1; k >= 0; --k) {  // small terms first
                std::uint64_t digit = lo;
                for (int t = 0; t < k; ++t) digit /= b;
                digit %= b;
                sum += base.perm[static_cast<std::size_t>(k) * b + digit] * base.weight[k];
            }
            base.low[lo] = sum;
        }
    }
}

double HaltonEngine::high_part(const Base& base, std::uint64_t hi) const {
    // Scrambled value of the digits at positions c, c + 1, ... (the digits of hi), plus the
    // permuted zeros above them.
    const std::uint32_t b = base.b;
    const int positions = static_cast<int>(base.tail.size()) - 1;
    int k = base.low_digits;
    double sum = 0.0;
    for (std::uint64_t q = hi; q > 0 && k < positions; q /= b, ++k) {
        sum += base.perm[static_cast<std::size_t>(k) * b + q % b] * base.weight[k];
    }
    return sum + base.tail[k];
}

void HaltonEngine::fill(double* out, std::int64_t n, std::uint64_t start) const {
    // out: (n, d) row-major. Index i = hi b^c + lo: the c low digits come from a table and the
    // rest changes once every b^c rows. Blocks of rows are independent tasks.
    const int d = d_;
    const std::int64_t blocks = (n + kRowBlock - 1) / kRowBlock;
#pragma omp parallel for schedule(dynamic) \
    if (n * static_cast<std::int64_t>(d) > 32768 && parallel_regions_safe())
    for (std::int64_t blk = 0; blk < blocks; ++blk) {
        const std::int64_t r0 = blk * kRowBlock;
        const std::int64_t r1 = std::min(n, r0 + kRowBlock);
        for (int j = 0; j < d; ++j) {
            const Base& base = bases_[j];
            const double* low = base.low.data();
            const std::uint64_t first = start + static_cast<std::uint64_t>(r0);
            std::uint64_t lo = first % base.block;
            std::uint64_t hi = first / base.block;
            double* col = out + r0 * d + j;
            if (scramble_) {
                double high = high_part(base, hi);
                for (std::int64_t i = r0; i < r1; ++i, col += d) {
                    const double value = low[lo] + high;
                    *col = value < 1.0 ? value : kBelowOne;
                    if (++lo == base.block) {
                        lo = 0;
                        high = high_part(base, ++hi);
                    }
                }
            } else {
                // SciPy's sum continues from the low digits' partial sum through the digits
                // of hi, in order.
                std::uint32_t digits[64];
                int count = 0;
                auto split = [&](std::uint64_t h) {
                    count = 0;
                    for (std::uint64_t q = h; q > 0; q /= base.b) {
                        digits[count++] = static_cast<std::uint32_t>(q % base.b);
                    }
                };
                split(hi);
                const double* w = base.weight.data() + base.low_digits;
                for (std::int64_t i = r0; i < r1; ++i, col += d) {
                    double sum = low[lo];
                    for (int t = 0; t < count; ++t) sum += static_cast<double>(digits[t]) * w[t];
                    *col = sum;
                    if (++lo == base.block) {
                        lo = 0;
                        split(++hi);
                    }
                }
            }
        }
    }
}

}  // namespace tunecore::samplers
