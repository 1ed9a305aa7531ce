// AVX-512 micro-kernel, 8 x 32: sixteen 16-wide accumulators, two B loads and eight broadcasts
// per step of p (FMA-bound on two FMA ports). Compiled with a function target attribute and
// only called after the CPU was checked for AVX-512F.
#include "mlp/gemm_kernels.hpp"

#if (defined(__x86_64__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

namespace tunecore::mlp::detail {

namespace {

__attribute__((target("avx512f,fma"))) void kernel_8x32(int64_t kc, const float* a,
                                                         const float* b, int64_t ldb, float* c,
                                                         int64_t ldc, bool accumulate) {
    __m512 acc[8][2];
    for (int i = 0; i < 8; ++i) {
        acc[i][0] = _mm512_setzero_ps();
        acc[i][1] = _mm512_setzero_ps();
    }
    for (int64_t p = 0; p < kc; ++p) {
        const __m512 b0 = _mm512_loadu_ps(b + p * ldb);
        const __m512 b1 = _mm512_loadu_ps(b + p * ldb + 16);
        const float* ap = a + p * 8;
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) {
            const __m512 x = _mm512_set1_ps(ap[i]);
            acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);
        }
    }
    for (int i = 0; i < 8; ++i) {
        float* ci = c + i * ldc;
        if (accumulate) {
            acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(ci));
            acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(ci + 16));
        }
        _mm512_storeu_ps(ci, acc[i][0]);
        _mm512_storeu_ps(ci + 16, acc[i][1]);
    }
}

}  // namespace

KernelInfo avx512_kernel() { return {"avx512", 8, 32, &kernel_8x32}; }

}  // namespace tunecore::mlp::detail

#else

namespace tunecore::mlp::detail {
KernelInfo avx512_kernel() { return {"avx512", 8, 32, nullptr}; }
}  // namespace tunecore::mlp::detail

#endif
