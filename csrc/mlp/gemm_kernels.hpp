// Register-blocked micro-kernels of the packed float32 product (internal to gemm*.cpp).
//
// A micro-kernel computes one MR x NR tile of C from kc steps of panels:
//   a: kc x MR, a[p * MR + i] = A(i, p)     (one packed row panel of op(A))
//   b: kc x NR, b[p * ldb + j] = B(p, j)    (a packed column panel, ldb = NR, or NR columns
//                                            of a small row-major B read in place)
//   c: MR x NR, row stride ldc; c = sum_p a(., p) b(p, .) or c += that when accumulate.
// Each element sums over p in increasing order (one accumulator per element), so the result
// depends only on the data, never on threads or the tile's position.
#pragma once

#include <cstdint>

#include "mlp/gemm.hpp"

namespace tunecore::mlp::detail {

using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                             int64_t ldc, bool accumulate);

// The same, finishing the tile in registers with the epilogue `ep` before the one store:
// (i0, j0) is the tile's position in C. Only for epilogues fusable(ep); each element gets
// exactly the arithmetic of apply_epilogue (a multiply and an add, never an FMA; the same
// comparisons), so a fused tile is bitwise the one computed then finished apart.
using FusedKernel = void (*)(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                             int64_t ldc, bool accumulate, const Epilogue<float>& ep, int64_t i0,
                             int64_t j0);

// A tile with rows <= MR and cols <= NR at c, the rest of MR x NR untouched; finished with
// the epilogue in registers when ep is non-null (a fusable one), else stored as the product.
using EdgeKernel = void (*)(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                            int64_t ldc, bool accumulate, int64_t rows, int64_t cols,
                            const Epilogue<float>* ep, int64_t i0, int64_t j0);

// Any tile up to MR x NR reading op(A) where it lies, A(i, p) at a[i * a_rs + p * a_cs],
// instead of from a packed panel; finished with the epilogue in registers when ep is non-null
// (a fusable one). The same arithmetic as the packed kernels, so bitwise the same C.
using InPlaceKernel = void (*)(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs,
                               const float* b, int64_t ldb, float* c, int64_t ldc,
                               bool accumulate, int64_t rows, int64_t cols,
                               const Epilogue<float>* ep, int64_t i0, int64_t j0);

// Epilogues a fused kernel handles: bias_act with relu, leaky_relu or identity (tanh and
// sigmoid need exp) and mul_act_grad with every activation.
inline bool fusable(const Epilogue<float>& ep) {
    if (ep.kind == EpilogueKind::mul_act_grad) return true;
    return ep.kind == EpilogueKind::bias_act &&
           (ep.act == Activation::relu || ep.act == Activation::leaky_relu ||
            ep.act == Activation::identity);
}

// Packs 8 rows side by side: out[p * out_stride + i] = src[i][p] for i < 8, p < kc.
using PackRows8 = void (*)(int64_t kc, const float* const* src, float* out, int64_t out_stride);

// The AVX2 one (8 x 8 transposes in registers), null where the compiler cannot; only called
// after the CPU was checked for AVX2.
PackRows8 avx2_pack_rows8();

struct KernelInfo {
    const char* name;
    int mr;
    int nr;
    MicroKernel kernel;
    FusedKernel fused = nullptr;  // null where the family has none (or reads A in place)
    EdgeKernel edge = nullptr;    // null: edge tiles go through a scratch tile
    InPlaceKernel in_place = nullptr;  // null: op(A) is always packed
};

// Defined in gemm_avx2.cpp and gemm_avx512.cpp (compiled with function target attributes, so
// the rest of the build stays baseline x86-64); null kernels where the compiler cannot.
KernelInfo avx2_kernel();
KernelInfo avx512_kernel();
// 16 x 16, for products at most 16 columns wide.
KernelInfo avx512_narrow_kernel();

}  // namespace tunecore::mlp::detail
