// tunecore's samplers: points of the unit cube [0, 1)^d, written row-major into out (n x d).
//
// Every generator here is a pure function of its construction arguments (seed included) and of
// the index of the first row, so the Python layer keeps the position in the sequence and a
// draw can start anywhere (fast_forward) or be split across calls without changing the points.
// Each fill() is safe to call without the GIL and parallelizes over rows with OpenMP; the
// split never changes a value, so results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <vector>

namespace tunecore::samplers {

// Row k of the uniform sampler: columns 2b and 2b + 1 are the two 64-bit words of
// Philox4x32-10 at counter (k, b, kTagRandom) under key seed, each turned into a double with
// its top 53 bits. out: (n, d), row-major; rows start, ..., start + n - 1.
void random_fill(double* out, std::int64_t n, int d, std::uint64_t seed, std::uint64_t start);

// Sobol' sequence on Joe and Kuo's new-joe-kuo-6.21201 direction numbers, 64-bit integer
// arithmetic, Gray-code order (point 0 is the origin when unscrambled, as in SciPy).
class SobolEngine {
  public:
    static int max_dim();

    // Throws std::invalid_argument when d is outside [1, max_dim()].
    SobolEngine(int d, bool scramble, std::uint64_t seed);

    int d() const { return d_; }

    // out: (n, d) row-major, points start, ..., start + n - 1 (start + n <= 2^63).
    void fill(double* out, std::int64_t n, std::uint64_t start) const;

  private:
    int d_;
    std::vector<std::uint64_t> v_;      // (64, d): v_[k * d + j] = direction number k of dim j
    std::vector<std::uint64_t> shift_;  // (d,): digital shift (zero when unscrambled)
};

// Halton sequence: radical inverse of the index in the j-th prime for column j.
class HaltonEngine {
  public:
    // Throws std::invalid_argument when d < 1.
    HaltonEngine(int d, bool scramble, std::uint64_t seed);

    int d() const { return d_; }

    // out: (n, d) row-major, points start, ..., start + n - 1.
    void fill(double* out, std::int64_t n, std::uint64_t start) const;

  private:
    struct Base {
        std::uint32_t b;               // the prime
        int low_digits;                // c: the low table covers b^c indices
        std::uint64_t block;           // b^c
        std::vector<double> weight;    // SciPy's b2r sequence: 1/b, then divided by b each time
        std::vector<double> low;       // (b^c,): value of the c low digits of each index
        std::vector<std::uint32_t> perm;  // (positions, b): digit permutations (scrambled only)
        std::vector<double> tail;      // tail[k]: permuted zero digits at positions k.. (scrambled)
    };

    double high_part(const Base& base, std::uint64_t hi) const;

    int d_;
    bool scramble_;
    std::vector<Base> bases_;
};

// Latin hypercube design of n points: column j is (perm_j + u) / n with perm_j a uniform
// random permutation of 0..n-1 and u uniform in [0, 1) (or 1/2 when centered). The design is
// a pure function of (seed, stream, n, d, centered, optimization).
// optimization: 0 none, 1 random-cd (swap coordinates within a column when the swap lowers the
// centered L2 discrepancy), 2 maximin (when it raises the smallest pairwise distance).
// Throws std::invalid_argument when n >= 2^32.
void lhs_fill(double* out, std::int64_t n, int d, bool centered, int optimization,
              std::uint64_t seed, std::uint64_t stream);

// Centered L2 discrepancy squared of an (n, d) sample (Hickernell 1998), O(n^2 d); used by the
// tests and to report what the optimization achieved.
double centered_discrepancy(const double* x, std::int64_t n, int d);

}  // namespace tunecore::samplers
