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

namespace tunecore::mlp::detail {

using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                             int64_t ldc, bool accumulate);

struct KernelInfo {
    const char* name;
    int mr;
    int nr;
    MicroKernel kernel;
};

// Defined in gemm_avx2.cpp and gemm_avx512.cpp (compiled with function target attributes, so
// the rest of the build stays baseline x86-64); null kernels where the compiler cannot.
KernelInfo avx2_kernel();
KernelInfo avx512_kernel();

}  // namespace tunecore::mlp::detail
