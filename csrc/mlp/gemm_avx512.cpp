// AVX-512 micro-kernels. 8 x 32: sixteen 16-wide accumulators, two B loads and eight
// broadcasts per step of p (FMA-bound on two FMA ports). 16 x 16, for products at most 16
// columns wide (the output layer): one B load and sixteen broadcasts per step, so a 10-column
// product wastes 6 of 16 lanes instead of 22 of 32. Each reads op(A) where it lies (its
// broadcasts need no particular layout), or a packed panel through the same loops. Edge
// tiles (fewer rows or columns) run the same loops and store through masks, finishing their
// epilogue in registers like full tiles. All do one fused multiply-add per element and
// step of p, in the same order, so they give bitwise the same C. Compiled with a function
// target attribute and only called after the CPU was checked for AVX-512F.
#include "mlp/gemm_kernels.hpp"

#if (defined(__x86_64__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include <algorithm>

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

// One MR x (16 H) tile: MR rows of packed A, H 16-wide vectors of B per step of p. Full tiles
// (Edge false) store every element; edge tiles store rows [0, rows) and columns [0, cols)
// through masks, reading C, the epilogue's vectors and its aux rows with the same masks, so
// nothing outside the tile is touched. A and B panels are zero-padded to MR and 16 H by the
// packing, so the products themselves never need a mask. With an epilogue (ep non-null) the
// tile is finished in registers before its one store.
//
// A(i, p) is a[i * a_rs + p * a_cs]: a packed panel (a_rs = 1, a_cs = MR) or op(A) read where
// it lies. In place, an edge tile's rows past `rows` read its last row again instead of past
// the matrix (those rows are never stored).
template <int MR, int H, bool Edge>
__attribute__((target("avx512f,fma"))) inline void tile_body(
    int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t ldb,
    float* c, int64_t ldc, bool accumulate, int64_t rows, int64_t cols,
    const Epilogue<float>* ep, int64_t i0, int64_t j0) {
    __m512 acc[MR][H];
    for (int i = 0; i < MR; ++i) {
        for (int h = 0; h < H; ++h) acc[i][h] = _mm512_setzero_ps();
    }
    const float* row[MR];
    for (int i = 0; i < MR; ++i) row[i] = a + (Edge ? std::min<int64_t>(i, rows - 1) : i) * a_rs;
    for (int64_t p = 0; p < kc; ++p) {
        __m512 bv[H];
        for (int h = 0; h < H; ++h) bv[h] = _mm512_loadu_ps(b + p * ldb + 16 * h);
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
            const __m512 x = _mm512_set1_ps(row[i][p * a_cs]);
            for (int h = 0; h < H; ++h) acc[i][h] = _mm512_fmadd_ps(x, bv[h], acc[i][h]);
        }
    }

    __mmask16 mask[H];
    for (int h = 0; h < H; ++h) {
        const int64_t left = Edge ? cols - 16 * h : 16;
        mask[h] = left >= 16 ? __mmask16(0xFFFF)
                             : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1);
    }
    const int n_rows = Edge ? int(rows) : MR;
    if (accumulate) {
        for (int i = 0; i < n_rows; ++i) {
            for (int h = 0; h < H; ++h) {
                const float* ci = c + i * ldc + 16 * h;
                acc[i][h] = _mm512_add_ps(acc[i][h], _mm512_maskz_loadu_ps(mask[h], ci));
            }
        }
    }
    if (ep != nullptr && ep->kind == EpilogueKind::bias_act) {
        for (int h = 0; h < H; ++h) {
            const int64_t j = j0 + 16 * h;
            const __m512 scale =
                ep->scale ? _mm512_maskz_loadu_ps(mask[h], ep->scale + j) : _mm512_setzero_ps();
            const __m512 shift =
                ep->shift ? _mm512_maskz_loadu_ps(mask[h], ep->shift + j) : _mm512_setzero_ps();
            for (int i = 0; i < n_rows; ++i) {
                __m512 v = acc[i][h];
                if (ep->scale) v = mul16(v, scale);
                if (ep->shift) v = add16(v, shift);
                acc[i][h] = activate16(ep->act, v);
            }
        }
    } else if (ep != nullptr) {
        for (int i = 0; i < n_rows; ++i) {
            const float* ai = ep->aux + (i0 + i) * ep->ldaux + j0;
            for (int h = 0; h < H; ++h) {
                const __m512 a_out = _mm512_maskz_loadu_ps(mask[h], ai + 16 * h);
                acc[i][h] = mul16(acc[i][h], act_grad16(ep->act, a_out));
            }
        }
    }
    for (int i = 0; i < n_rows; ++i) {
        for (int h = 0; h < H; ++h) {
            _mm512_mask_storeu_ps(c + i * ldc + 16 * h, mask[h], acc[i][h]);
        }
    }
}

__attribute__((target("avx512f,fma"))) void kernel_8x32_in_place(
    int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t ldb,
    float* c, int64_t ldc, bool accumulate, int64_t rows, int64_t cols,
    const Epilogue<float>* ep, int64_t i0, int64_t j0) {
    if (rows == 8 && cols == 32) {
        tile_body<8, 2, false>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, 8, 32, ep, i0, j0);
    } else if (cols <= 16) {
        tile_body<8, 1, true>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, rows, cols, ep, i0,
                              j0);
    } else {
        tile_body<8, 2, true>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, rows, cols, ep, i0,
                              j0);
    }
}

__attribute__((target("avx512f,fma"))) void kernel_16x16_in_place(
    int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t ldb,
    float* c, int64_t ldc, bool accumulate, int64_t rows, int64_t cols,
    const Epilogue<float>* ep, int64_t i0, int64_t j0) {
    if (rows == 16 && cols == 16) {
        tile_body<16, 1, false>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, 16, 16, ep, i0,
                                j0);
    } else {
        tile_body<16, 1, true>(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, rows, cols, ep, i0,
                               j0);
    }
}

// The packed interface of the family (a full tile from a packed panel of A). gemm() reads A
// in place with these kernels, so this serves callers that pack.
__attribute__((target("avx512f,fma"))) void kernel_8x32(int64_t kc, const float* a,
                                                         const float* b, int64_t ldb, float* c,
                                                         int64_t ldc, bool accumulate) {
    kernel_8x32_in_place(kc, a, 1, 8, b, ldb, c, ldc, accumulate, 8, 32, nullptr, 0, 0);
}

__attribute__((target("avx512f,fma"))) void kernel_16x16(int64_t kc, const float* a,
                                                          const float* b, int64_t ldb, float* c,
                                                          int64_t ldc, bool accumulate) {
    kernel_16x16_in_place(kc, a, 1, 16, b, ldb, c, ldc, accumulate, 16, 16, nullptr, 0, 0);
}

}  // namespace

// No separate fused or edge kernels: the in-place ones finish every tile, full or partial,
// with its epilogue in registers.
KernelInfo avx512_kernel() {
    return {"avx512", 8, 32, &kernel_8x32, nullptr, nullptr, &kernel_8x32_in_place};
}
KernelInfo avx512_narrow_kernel() {
    return {"avx512", 16, 16, &kernel_16x16, nullptr, nullptr, &kernel_16x16_in_place};
}

}  // namespace tunecore::mlp::detail

#else

namespace tunecore::mlp::detail {
KernelInfo avx512_kernel() { return {"avx512", 8, 32, nullptr}; }
KernelInfo avx512_narrow_kernel() { return {"avx512", 16, 16, nullptr}; }
}  // namespace tunecore::mlp::detail

#endif
