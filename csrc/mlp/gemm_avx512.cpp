// AVX-512 micro-kernels. 8 x 32: sixteen 16-wide accumulators, two B loads and eight broadcasts
// per step of p (FMA-bound on two FMA ports). 16 x 16, for products at most 16 columns wide
// (the output layer): one B load and sixteen broadcasts per step, so a 10-column product
// wastes 6 of 16 lanes instead of 22 of 32. Both do one fused multiply-add per element and step
// of p, in the same order, so they give bitwise the same C. Compiled with a function target
// attribute and only called after the CPU was checked for AVX-512F.
#include "mlp/gemm_kernels.hpp"

#if (defined(__x86_64__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

namespace tunecore::mlp::detail {

namespace {

// Epilogue arithmetic through the rounding-mode builtins: GCC writes the plain intrinsics as
// vector expressions and may contract a multiply and an add into one FMA, which would round
// differently from the plain C++ epilogue of the other paths.
__attribute__((target("avx512f"))) inline __m512 mul16(__m512 x, __m512 y) {
    return _mm512_mul_round_ps(x, y, _MM_FROUND_CUR_DIRECTION);
}

__attribute__((target("avx512f"))) inline __m512 add16(__m512 x, __m512 y) {
    return _mm512_add_round_ps(x, y, _MM_FROUND_CUR_DIRECTION);
}

__attribute__((target("avx512f"))) inline __m512 sub16(__m512 x, __m512 y) {
    return _mm512_sub_round_ps(x, y, _MM_FROUND_CUR_DIRECTION);
}

// act(v) of apply_epilogue's bias_act, for relu, leaky_relu and identity.
__attribute__((target("avx512f"))) inline __m512 activate16(Activation act, __m512 v) {
    const __mmask16 positive = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
    if (act == Activation::relu) return _mm512_maskz_mov_ps(positive, v);
    if (act == Activation::leaky_relu) {
        const __m512 slope = _mm512_set1_ps(float(kLeakySlope));
        return _mm512_mask_mov_ps(mul16(slope, v), positive, v);
    }
    return v;
}

// activation_grad_from_output(act, a), for every activation.
__attribute__((target("avx512f"))) inline __m512 act_grad16(Activation act, __m512 a) {
    const __m512 one = _mm512_set1_ps(1.0f);
    switch (act) {
        case Activation::relu:
            return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_GT_OQ),
                                       one);
        case Activation::leaky_relu:
            return _mm512_mask_mov_ps(_mm512_set1_ps(float(kLeakySlope)),
                                      _mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_GT_OQ),
                                      one);
        case Activation::tanh:
            return sub16(one, mul16(a, a));
        case Activation::sigmoid:
            return mul16(a, sub16(one, a));
        case Activation::identity:
        default:
            return one;
    }
}

template <bool Fused>
__attribute__((target("avx512f,fma"))) inline void kernel_8x32_body(
    int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc,
    bool accumulate, const Epilogue<float>* ep, int64_t i0, int64_t j0) {
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
    }
    if constexpr (Fused) {
        if (ep->kind == EpilogueKind::bias_act) {
            for (int h = 0; h < 2; ++h) {
                const int64_t j = j0 + 16 * h;
                const __m512 zero = _mm512_setzero_ps();
                const __m512 scale = ep->scale ? _mm512_loadu_ps(ep->scale + j) : zero;
                const __m512 shift = ep->shift ? _mm512_loadu_ps(ep->shift + j) : zero;
                for (int i = 0; i < 8; ++i) {
                    __m512 v = acc[i][h];
                    if (ep->scale) v = mul16(v, scale);
                    if (ep->shift) v = add16(v, shift);
                    acc[i][h] = activate16(ep->act, v);
                }
            }
        } else {
            for (int i = 0; i < 8; ++i) {
                const float* ai = ep->aux + (i0 + i) * ep->ldaux + j0;
                acc[i][0] = mul16(acc[i][0], act_grad16(ep->act, _mm512_loadu_ps(ai)));
                acc[i][1] =
                    mul16(acc[i][1], act_grad16(ep->act, _mm512_loadu_ps(ai + 16)));
            }
        }
    }
    for (int i = 0; i < 8; ++i) {
        float* ci = c + i * ldc;
        _mm512_storeu_ps(ci, acc[i][0]);
        _mm512_storeu_ps(ci + 16, acc[i][1]);
    }
}

__attribute__((target("avx512f,fma"))) void kernel_8x32(int64_t kc, const float* a,
                                                         const float* b, int64_t ldb, float* c,
                                                         int64_t ldc, bool accumulate) {
    kernel_8x32_body<false>(kc, a, b, ldb, c, ldc, accumulate, nullptr, 0, 0);
}

__attribute__((target("avx512f,fma"))) void kernel_8x32_fused(
    int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc,
    bool accumulate, const Epilogue<float>& ep, int64_t i0, int64_t j0) {
    kernel_8x32_body<true>(kc, a, b, ldb, c, ldc, accumulate, &ep, i0, j0);
}

__attribute__((target("avx512f,fma"))) void kernel_16x16(int64_t kc, const float* a,
                                                          const float* b, int64_t ldb, float* c,
                                                          int64_t ldc, bool accumulate) {
    __m512 acc[16];
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_setzero_ps();
    for (int64_t p = 0; p < kc; ++p) {
        const __m512 b0 = _mm512_loadu_ps(b + p * ldb);
        const float* ap = a + p * 16;
#pragma GCC unroll 16
        for (int i = 0; i < 16; ++i) {
            acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(ap[i]), b0, acc[i]);
        }
    }
    for (int i = 0; i < 16; ++i) {
        float* ci = c + i * ldc;
        if (accumulate) acc[i] = _mm512_add_ps(acc[i], _mm512_loadu_ps(ci));
        _mm512_storeu_ps(ci, acc[i]);
    }
}

}  // namespace

KernelInfo avx512_kernel() { return {"avx512", 8, 32, &kernel_8x32, &kernel_8x32_fused}; }
KernelInfo avx512_narrow_kernel() { return {"avx512", 16, 16, &kernel_16x16}; }

}  // namespace tunecore::mlp::detail

#else

namespace tunecore::mlp::detail {
KernelInfo avx512_kernel() { return {"avx512", 8, 32, nullptr}; }
KernelInfo avx512_narrow_kernel() { return {"avx512", 16, 16, nullptr}; }
}  // namespace tunecore::mlp::detail

#endif
