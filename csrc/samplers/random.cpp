#include <cstdint>

#include "common/fork_safety.hpp"
#include "samplers/rng.hpp"
#include "samplers/samplers.hpp"

namespace tunecore::samplers {

void random_fill(double* out, std::int64_t n, int d, std::uint64_t seed, std::uint64_t start) {
    // out: (n, d) row-major. Row i holds point start + i; each row is independent, so the
    // rows split freely across threads.
    const int blocks = (d + 1) / 2;
#pragma omp parallel for schedule(dynamic, 4096) \
    if (n * static_cast<std::int64_t>(d) > 32768 && parallel_regions_safe())
    for (std::int64_t i = 0; i < n; ++i) {
        double* row = out + i * d;
        const std::uint64_t k = start + static_cast<std::uint64_t>(i);
        for (int b = 0; b < blocks; ++b) {
            std::uint64_t w0, w1;
            philox_words(seed, k, static_cast<std::uint32_t>(b), kTagRandom, &w0, &w1);
            row[2 * b] = unit_double(w0);
            if (2 * b + 1 < d) row[2 * b + 1] = unit_double(w1);
        }
    }
}

}  // namespace tunecore::samplers
