#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/fork_safety.hpp"
#include "samplers/rng.hpp"
#include "samplers/samplers.hpp"

namespace tunecore::samplers {

namespace {

constexpr std::int64_t kRowBlock = 4096;  // rows per task of the writing pass
constexpr int kMaxIterations = 10000;     // proposals per optimization, at most
constexpr int kMaxRejections = 100;       // stop after this many proposals in a row fail
const double kBelowOne = 0x1.fffffffffffffp-1;

// Swap of x[r1, c] and x[r2, c]: change of the squared centered L2 discrepancy
//     CD^2 = (13/12)^d - 2/n sum_i prod_k g(x_ik) + 1/n^2 sum_i sum_j prod_k h(x_ik, x_jk),
//     g(x) = 1 + |x - 1/2| / 2 - |x - 1/2|^2 / 2,
//     h(x, y) = 1 + |x - 1/2| / 2 + |y - 1/2| / 2 - |x - y| / 2.
// Only the terms of rows r1 and r2 change, so the change costs O(n d), not O(n^2 d).
double cd_swap_change(const double* x, std::int64_t n, int d, std::int64_t r1, std::int64_t r2,
                      int c) {
    const double* x1 = x + r1 * d;
    const double* x2 = x + r2 * d;
    const double a = x1[c], b = x2[c];
    auto g = [](double v) {
        const double t = std::fabs(v - 0.5);
        return 1.0 + 0.5 * t - 0.5 * t * t;
    };
    auto h = [](double u, double v) {
        return 1.0 + 0.5 * std::fabs(u - 0.5) + 0.5 * std::fabs(v - 0.5) - 0.5 * std::fabs(u - v);
    };
    double g1 = 1.0, g2 = 1.0, d1 = 1.0, d2 = 1.0;
    for (int k = 0; k < d; ++k) {
        if (k == c) continue;
        g1 *= g(x1[k]);
        g2 *= g(x2[k]);
        d1 *= 1.0 + std::fabs(x1[k] - 0.5);
        d2 *= 1.0 + std::fabs(x2[k] - 0.5);
    }
    const double nd = static_cast<double>(n);
    double change = -2.0 / nd * (g1 - g2) * (g(b) - g(a));
    change += (d1 - d2) * (std::fabs(b - 0.5) - std::fabs(a - 0.5)) / (nd * nd);

    double pairs = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
        if (i == r1 || i == r2) continue;
        const double* xi = x + i * d;
        double p1 = 1.0, p2 = 1.0;
        for (int k = 0; k < d; ++k) {
            if (k == c) continue;
            p1 *= h(x1[k], xi[k]);
            p2 *= h(x2[k], xi[k]);
        }
        pairs += (p1 - p2) * (h(b, xi[c]) - h(a, xi[c]));
    }
    return change + 2.0 * pairs / (nd * nd);
}

void optimize_random_cd(double* x, std::int64_t n, int d, Xoshiro256pp& rng) {
    int rejections = 0;
    for (int it = 0; it < kMaxIterations && rejections < kMaxRejections; ++it) {
        const int c = static_cast<int>(rng.below(static_cast<std::uint64_t>(d)));
        const std::int64_t r1 = rng.below(static_cast<std::uint64_t>(n));
        std::int64_t r2 = rng.below(static_cast<std::uint64_t>(n - 1));
        if (r2 >= r1) ++r2;
        if (cd_swap_change(x, n, d, r1, r2, c) < 0.0) {
            std::swap(x[r1 * d + c], x[r2 * d + c]);
            rejections = 0;
        } else {
            ++rejections;
        }
    }
}

double squared_distance(const double* u, const double* v, int d) {
    double s = 0.0;
    for (int k = 0; k < d; ++k) s += (u[k] - v[k]) * (u[k] - v[k]);
    return s;
}

// Maximin: a proposal moves a row of a closest pair (column c swapped with a random row r2)
// and is kept when every pair it changes ends up farther apart than the current smallest
// distance; the smallest distance never falls and the number of pairs at it shrinks until it
// grows. Nearest neighbours are kept up to date, O(n d) per proposal.
void optimize_maximin(double* x, std::int64_t n, int d, Xoshiro256pp& rng) {
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> nn_dist(static_cast<std::size_t>(n), inf);
    std::vector<std::int64_t> nn(static_cast<std::size_t>(n), -1);
    auto nearest = [&](std::int64_t i) {
        nn_dist[i] = inf;
        for (std::int64_t k = 0; k < n; ++k) {
            if (k == i) continue;
            const double s = squared_distance(x + i * d, x + k * d, d);
            if (s < nn_dist[i]) {
                nn_dist[i] = s;
                nn[i] = k;
            }
        }
    };
    for (std::int64_t i = 0; i < n; ++i) nearest(i);

    std::vector<double> new1(static_cast<std::size_t>(n)), new2(static_cast<std::size_t>(n));
    std::vector<double> moved1(static_cast<std::size_t>(d)), moved2(static_cast<std::size_t>(d));
    std::vector<std::int64_t> closest;
    int rejections = 0;
    for (int it = 0; it < kMaxIterations && rejections < kMaxRejections; ++it) {
        const double smallest = *std::min_element(nn_dist.begin(), nn_dist.end());
        closest.clear();
        for (std::int64_t i = 0; i < n; ++i) {
            if (nn_dist[i] == smallest) closest.push_back(i);
        }
        const std::int64_t r1 = closest[rng.below(closest.size())];
        const int c = static_cast<int>(rng.below(static_cast<std::uint64_t>(d)));
        std::int64_t r2 = rng.below(static_cast<std::uint64_t>(n - 1));
        if (r2 >= r1) ++r2;

        std::copy(x + r1 * d, x + r1 * d + d, moved1.begin());
        std::copy(x + r2 * d, x + r2 * d + d, moved2.begin());
        std::swap(moved1[c], moved2[c]);
        double worst = squared_distance(moved1.data(), moved2.data(), d);
        for (std::int64_t i = 0; i < n && worst > smallest; ++i) {
            if (i == r1 || i == r2) continue;
            new1[i] = squared_distance(moved1.data(), x + i * d, d);
            new2[i] = squared_distance(moved2.data(), x + i * d, d);
            worst = std::min(worst, std::min(new1[i], new2[i]));
        }
        if (!(worst > smallest)) {
            ++rejections;
            continue;
        }
        rejections = 0;
        std::swap(x[r1 * d + c], x[r2 * d + c]);
        for (std::int64_t i = 0; i < n; ++i) {
            if (i == r1 || i == r2) continue;
            if (nn[i] == r1 || nn[i] == r2) {
                const double now = nn[i] == r1 ? new1[i] : new2[i];
                if (now <= nn_dist[i]) {
                    nn_dist[i] = now;
                } else {
                    nearest(i);
                    continue;
                }
            }
            if (new1[i] < nn_dist[i]) {
                nn_dist[i] = new1[i];
                nn[i] = r1;
            }
            if (new2[i] < nn_dist[i]) {
                nn_dist[i] = new2[i];
                nn[i] = r2;
            }
        }
        nearest(r1);
        nearest(r2);
    }
}

}  // namespace

void lhs_fill(double* out, std::int64_t n, int d, bool centered, int optimization,
              std::uint64_t seed, std::uint64_t stream) {
    // out: (n, d) row-major. Column j's strata come from a permutation drawn from its own
    // generator and each block of rows draws its jitter from its own generator, so both
    // passes split across threads without changing a value.
    if (n >= (std::int64_t{1} << 32)) {
        throw std::invalid_argument("n must be below 2**32, got " + std::to_string(n));
    }
    if (n == 0 || d == 0) return;
    std::uint64_t key, unused;
    philox_words(seed, stream, 0, kTagLhs, &key, &unused);

    std::unique_ptr<std::uint32_t[]> perms(new std::uint32_t[static_cast<std::size_t>(n) * d]);
#pragma omp parallel for schedule(dynamic) \
    if (n * static_cast<std::int64_t>(d) > 32768 && parallel_regions_safe())
    for (int j = 0; j < d; ++j) {
        std::uint32_t* perm = perms.get() + static_cast<std::size_t>(j) * n;
        Xoshiro256pp rng(key, static_cast<std::uint64_t>(j), 0, kTagLhs);
        // Inside-out Fisher-Yates: perm[0..i] is a uniform random permutation of 0..i.
        perm[0] = 0;
        for (std::uint32_t i = 1; i < static_cast<std::uint64_t>(n); ++i) {
            const std::uint32_t k = rng.below32(static_cast<std::uint64_t>(i) + 1);
            perm[i] = perm[k];
            perm[k] = i;
        }
    }

    // The jitter u keeps 53 - bits(n) bits, so perm + u is exact and below perm + 1, and
    // (perm + u) / n still carries a full double's precision.
    int bits = 0;
    while ((std::int64_t{1} << bits) <= n) ++bits;
    const double jitter_scale = std::ldexp(1.0, bits - 53);
    const double nd = static_cast<double>(n);
    const std::int64_t blocks = (n + kRowBlock - 1) / kRowBlock;
#pragma omp parallel for schedule(dynamic) \
    if (n * static_cast<std::int64_t>(d) > 32768 && parallel_regions_safe())
    for (std::int64_t blk = 0; blk < blocks; ++blk) {
        const std::int64_t r0 = blk * kRowBlock;
        const std::int64_t r1 = std::min(n, r0 + kRowBlock);
        for (int j = 0; j < d; ++j) {
            const std::uint32_t* perm = perms.get() + static_cast<std::size_t>(j) * n;
            double* col = out + r0 * d + j;
            if (centered) {
                for (std::int64_t i = r0; i < r1; ++i, col += d) *col = (perm[i] + 0.5) / nd;
            } else {
                Xoshiro256pp rng(key, static_cast<std::uint64_t>(blk),
                                 static_cast<std::uint32_t>(j) + 1, kTagLhs);
                for (std::int64_t i = r0; i < r1; ++i, col += d) {
                    const double u = static_cast<double>(rng.next() >> (11 + bits)) * jitter_scale;
                    const double value = (perm[i] + u) / nd;
                    *col = value < 1.0 ? value : kBelowOne;
                }
            }
        }
    }

    if (optimization != 0 && n > 2 && d > 1) {
        Xoshiro256pp rng(key, 0, 0, kTagLhsOpt);
        if (optimization == 1) {
            optimize_random_cd(out, n, d, rng);
        } else {
            optimize_maximin(out, n, d, rng);
        }
    }
}

double centered_discrepancy(const double* x, std::int64_t n, int d) {
    // x: (n, d) row-major. The double sum runs over all ordered pairs, O(n^2 d).
    double single = 0.0, pairs = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
        const double* xi = x + i * d;
        double p = 1.0;
        for (int k = 0; k < d; ++k) {
            const double t = std::fabs(xi[k] - 0.5);
            p *= 1.0 + 0.5 * t - 0.5 * t * t;
        }
        single += p;
        for (std::int64_t m = 0; m < n; ++m) {
            const double* xm = x + m * d;
            double q = 1.0;
            for (int k = 0; k < d; ++k) {
                q *= 1.0 + 0.5 * std::fabs(xi[k] - 0.5) + 0.5 * std::fabs(xm[k] - 0.5) -
                     0.5 * std::fabs(xi[k] - xm[k]);
            }
            pairs += q;
        }
    }
    const double nd = static_cast<double>(n);
    return std::pow(13.0 / 12.0, d) - 2.0 / nd * single + pairs / (nd * nd);
}

}  // namespace tunecore::samplers
