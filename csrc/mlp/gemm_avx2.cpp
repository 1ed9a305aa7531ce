// AVX2 + FMA micro-kernel, 6 x 16: twelve 8-wide accumulators, two B loads and six broadcasts
// per step of p. Compiled with a function target attribute (no -mavx2 for the whole build), and
// only ever called after the CPU was checked for AVX2 and FMA.
#include "mlp/gemm_kernels.hpp"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

namespace tunecore::mlp::detail {

namespace {

__attribute__((target("avx2,fma"))) void kernel_6x16(int64_t kc, const float* a, const float* b,
                                                      int64_t ldb, float* c, int64_t ldc,
                                                      bool accumulate) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int64_t p = 0; p < kc; ++p) {
        const __m256 b0 = _mm256_loadu_ps(b + p * ldb);
        const __m256 b1 = _mm256_loadu_ps(b + p * ldb + 8);
        const float* ap = a + p * 6;
        __m256 x = _mm256_broadcast_ss(ap + 0);
        c00 = _mm256_fmadd_ps(x, b0, c00);
        c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(ap + 1);
        c10 = _mm256_fmadd_ps(x, b0, c10);
        c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(ap + 2);
        c20 = _mm256_fmadd_ps(x, b0, c20);
        c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(ap + 3);
        c30 = _mm256_fmadd_ps(x, b0, c30);
        c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(ap + 4);
        c40 = _mm256_fmadd_ps(x, b0, c40);
        c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(ap + 5);
        c50 = _mm256_fmadd_ps(x, b0, c50);
        c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    __m256 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int i = 0; i < 6; ++i) {
        float* ci = c + i * ldc;
        if (accumulate) {
            rows[i][0] = _mm256_add_ps(rows[i][0], _mm256_loadu_ps(ci));
            rows[i][1] = _mm256_add_ps(rows[i][1], _mm256_loadu_ps(ci + 8));
        }
        _mm256_storeu_ps(ci, rows[i][0]);
        _mm256_storeu_ps(ci + 8, rows[i][1]);
    }
}

}  // namespace

KernelInfo avx2_kernel() { return {"avx2", 6, 16, &kernel_6x16}; }

}  // namespace tunecore::mlp::detail

#else

namespace tunecore::mlp::detail {
KernelInfo avx2_kernel() { return {"avx2", 6, 16, nullptr}; }
}  // namespace tunecore::mlp::detail

#endif
