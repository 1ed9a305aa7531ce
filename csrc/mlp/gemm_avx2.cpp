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

__attribute__((target("avx2"))) void pack_rows8(int64_t kc, const float* const* src, float* out,
                                                 int64_t out_stride) {
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
        const __m256 r0 = _mm256_loadu_ps(src[0] + p), r1 = _mm256_loadu_ps(src[1] + p);
        const __m256 r2 = _mm256_loadu_ps(src[2] + p), r3 = _mm256_loadu_ps(src[3] + p);
        const __m256 r4 = _mm256_loadu_ps(src[4] + p), r5 = _mm256_loadu_ps(src[5] + p);
        const __m256 r6 = _mm256_loadu_ps(src[6] + p), r7 = _mm256_loadu_ps(src[7] + p);
        const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
        const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        float* o = out + p * out_stride;
        _mm256_storeu_ps(o + 0 * out_stride, _mm256_permute2f128_ps(s0, s4, 0x20));
        _mm256_storeu_ps(o + 1 * out_stride, _mm256_permute2f128_ps(s1, s5, 0x20));
        _mm256_storeu_ps(o + 2 * out_stride, _mm256_permute2f128_ps(s2, s6, 0x20));
        _mm256_storeu_ps(o + 3 * out_stride, _mm256_permute2f128_ps(s3, s7, 0x20));
        _mm256_storeu_ps(o + 4 * out_stride, _mm256_permute2f128_ps(s0, s4, 0x31));
        _mm256_storeu_ps(o + 5 * out_stride, _mm256_permute2f128_ps(s1, s5, 0x31));
        _mm256_storeu_ps(o + 6 * out_stride, _mm256_permute2f128_ps(s2, s6, 0x31));
        _mm256_storeu_ps(o + 7 * out_stride, _mm256_permute2f128_ps(s3, s7, 0x31));
    }
    for (; p < kc; ++p) {
        for (int i = 0; i < 8; ++i) out[p * out_stride + i] = src[i][p];
    }
}

}  // namespace

KernelInfo avx2_kernel() { return {"avx2", 6, 16, &kernel_6x16}; }
PackRows8 avx2_pack_rows8() { return &pack_rows8; }

}  // namespace tunecore::mlp::detail

#else

namespace tunecore::mlp::detail {
KernelInfo avx2_kernel() { return {"avx2", 6, 16, nullptr}; }
PackRows8 avx2_pack_rows8() { return nullptr; }
}  // namespace tunecore::mlp::detail

#endif
