// Matrix products of the MLP: C (m x n) = op(A) (m x k) * op(B) (k x n), with optional fused
// epilogues. Operands are addressed through (row stride, column stride) pairs, so one kernel
// serves A*B (forward), A^T*B (weight gradients) and A*B^T (input gradients).
//
// Two implementations with the same contract:
//   - gemm_reference: three plain loops, any scalar type; the yardstick of the tests and the
//     kernel of the float64 build used for gradient checks.
//   - gemm (float): packed operands, cache blocking, register-blocked micro-kernels chosen at
//     run time (AVX-512, AVX2 + FMA or portable C++).
// Both sum over k in increasing order per output element within a cache block of KC, so the
// result does not depend on threads; the optimized one rounds differently from the reference
// (FMA, blocking), so tests compare them with a tolerance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mlp/buffer.hpp"
#include "mlp/types.hpp"

namespace tunecore::mlp {

// A strided read-only matrix view: element (i, j) is data[i * rs + j * cs].
template <typename T>
struct ConstView {
    const T* data;
    int64_t rs;
    int64_t cs;
    const T& operator()(int64_t i, int64_t j) const { return data[i * rs + j * cs]; }
};

// What happens to each finished element C(i, j) before it is stored.
enum class EpilogueKind {
    none,        // C = acc (or C += acc when accumulating)
    bias_act,    // C = act(acc * scale[j] + shift[j]); scale may be null (then 1)
    mul_act_grad  // C = acc * act'(aux(i, j)), act' written from the activation's output
};

template <typename T>
struct Epilogue {
    EpilogueKind kind = EpilogueKind::none;
    Activation act = Activation::identity;
    const T* scale = nullptr;  // n entries or null
    const T* shift = nullptr;  // n entries or null (then 0)
    const T* aux = nullptr;    // m x n, row stride ldaux (mul_act_grad)
    int64_t ldaux = 0;
};

template <typename T>
inline T apply_epilogue(const Epilogue<T>& ep, T acc, int64_t i, int64_t j) {
    switch (ep.kind) {
        case EpilogueKind::bias_act: {
            T v = ep.scale ? acc * ep.scale[j] : acc;
            if (ep.shift) v += ep.shift[j];
            return activate(ep.act, v);
        }
        case EpilogueKind::mul_act_grad:
            return acc * activation_grad_from_output(ep.act, ep.aux[i * ep.ldaux + j]);
        case EpilogueKind::none:
        default:
            return acc;
    }
}

// C = op(A) * op(B) (accumulate = false) or C += op(A) * op(B) (accumulate = true, epilogue
// must be none). C is row-major with row stride ldc.
template <typename T>
void gemm_reference(int64_t m, int64_t n, int64_t k, ConstView<T> a, ConstView<T> b, T* c,
                    int64_t ldc, bool accumulate, const Epilogue<T>& ep);

// Scratch of the packed kernel for products with n <= max_n on up to `threads` threads (one
// packing area per thread); owned by a trial's workspace so a step allocates nothing.
struct GemmScratch {
    float* data = nullptr;  // gemm_scratch_floats(max_n, threads) floats, 64-byte aligned
    int64_t max_n = 0;
    int threads = 1;  // OpenMP threads a large product may use (results do not change)
};

int64_t gemm_scratch_floats(int64_t max_n, int threads);

// Owns the storage behind a GemmScratch.
struct GemmBuffer {
    Buffer<float> storage;  // never zeroed: packing writes every float before a kernel reads it
    GemmScratch scratch;

    void init(int64_t max_n, int threads);
};

// Same contract as gemm_reference, for float, with the fastest micro-kernel of the CPU.
void gemm(int64_t m, int64_t n, int64_t k, ConstView<float> a, ConstView<float> b, float* c,
          int64_t ldc, bool accumulate, const Epilogue<float>& ep, const GemmScratch& scratch);

// Float64 has no packed kernel: it is only used to check gradients.
inline void gemm(int64_t m, int64_t n, int64_t k, ConstView<double> a, ConstView<double> b,
                 double* c, int64_t ldc, bool accumulate, const Epilogue<double>& ep,
                 const GemmScratch&) {
    gemm_reference<double>(m, n, k, a, b, c, ldc, accumulate, ep);
}

// The micro-kernel family in use: "avx512", "avx2" or "portable". Chosen once, at first use,
// from the CPU; the environment variable TUNECORE_KERNEL (avx512, avx2, portable) forces a path
// when the CPU supports it.
const char* gemm_kernel_name();
// Force a path for tests ("avx512", "avx2", "portable"); returns false when the CPU lacks it.
bool set_gemm_kernel(const char* name);
// Paths this CPU can run, best first.
int available_gemm_kernels(const char** names, int capacity);

}  // namespace tunecore::mlp
