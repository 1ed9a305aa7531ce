// The float32 product of the MLP: packing, cache blocking, epilogues and the run-time choice
// of the micro-kernel; plus the reference loops. Blocking follows the usual three-level scheme:
// a KC x NC block of op(B) is packed once and reused by every MC x KC block of op(A); a packed
// MR x KC sliver of A and KC x NR sliver of B meet in registers in the micro-kernel.
#include "mlp/gemm.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "mlp/gemm_kernels.hpp"

namespace tunecore::mlp {

namespace {

// Cache blocks. MC is a multiple of every MR (4, 6, 8); KC * NR floats of B fit in L1 next to
// the A sliver, MC * KC floats of A in L2, KC * NC floats of B in L2/L3.
constexpr int64_t kMC = 96;
constexpr int64_t kKC = 256;
constexpr int64_t kNC = 2048;
constexpr int kMaxMR = 8;
constexpr int kMaxNR = 32;

// Portable micro-kernel: fixed trip counts the compiler unrolls and vectorizes with whatever
// the baseline instruction set offers (SSE2 on x86-64, NEON on arm64).
constexpr int kPortableMR = 4;
constexpr int kPortableNR = 16;

void portable_kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                     bool accumulate) {
    float acc[kPortableMR][kPortableNR] = {};
    for (int64_t p = 0; p < kc; ++p) {
        const float* ap = a + p * kPortableMR;
        const float* bp = b + p * kPortableNR;
        for (int i = 0; i < kPortableMR; ++i) {
            const float ai = ap[i];
            for (int j = 0; j < kPortableNR; ++j) acc[i][j] += ai * bp[j];
        }
    }
    for (int i = 0; i < kPortableMR; ++i) {
        float* ci = c + i * ldc;
        if (accumulate) {
            for (int j = 0; j < kPortableNR; ++j) ci[j] += acc[i][j];
        } else {
            for (int j = 0; j < kPortableNR; ++j) ci[j] = acc[i][j];
        }
    }
}

detail::KernelInfo portable_info() {
    return {"portable", kPortableMR, kPortableNR, &portable_kernel};
}

bool cpu_has(const char* name) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (std::strcmp(name, "avx512") == 0) {
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    }
    if (std::strcmp(name, "avx2") == 0) {
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
#endif
    return std::strcmp(name, "portable") == 0;
}

detail::KernelInfo info_by_name(const char* name) {
    if (std::strcmp(name, "avx512") == 0) return detail::avx512_kernel();
    if (std::strcmp(name, "avx2") == 0) return detail::avx2_kernel();
    return portable_info();
}

bool usable(const char* name) {
    return cpu_has(name) && info_by_name(name).kernel != nullptr;
}

const char* const kAllKernels[] = {"avx512", "avx2", "portable"};

// The chosen kernel, as an index into kAllKernels; -1 until first use.
std::atomic<int> g_kernel{-1};

int choose_kernel() {
    const char* forced = std::getenv("TUNECORE_KERNEL");
    if (forced != nullptr) {
        for (int i = 0; i < 3; ++i) {
            if (std::strcmp(forced, kAllKernels[i]) == 0 && usable(kAllKernels[i])) return i;
        }
    }
    for (int i = 0; i < 3; ++i) {
        if (usable(kAllKernels[i])) return i;
    }
    return 2;
}

int kernel_index() {
    int k = g_kernel.load(std::memory_order_acquire);
    if (k < 0) {
        k = choose_kernel();
        g_kernel.store(k, std::memory_order_release);
    }
    return k;
}

// Pack rows [0, mc) x depth [0, kc) of op(A) into MR-row panels, zero-padding the last one.
void pack_a(int64_t mc, int64_t kc, ConstView<float> a, int mr, float* out) {
    for (int64_t ir = 0; ir < mc; ir += mr) {
        const int64_t rows = std::min<int64_t>(mr, mc - ir);
        if (a.cs == 1 && rows == mr) {
            for (int64_t p = 0; p < kc; ++p) {
                for (int i = 0; i < mr; ++i) out[p * mr + i] = a.data[(ir + i) * a.rs + p];
            }
        } else {
            for (int64_t p = 0; p < kc; ++p) {
                for (int i = 0; i < mr; ++i) {
                    out[p * mr + i] = i < rows ? a(ir + i, p) : 0.0f;
                }
            }
        }
        out += kc * mr;
    }
}

// Pack depth [0, kc) x columns [0, nc) of op(B) into NR-column panels, zero-padding.
void pack_b(int64_t kc, int64_t nc, ConstView<float> b, int nr, float* out) {
    for (int64_t jr = 0; jr < nc; jr += nr) {
        const int64_t cols = std::min<int64_t>(nr, nc - jr);
        if (b.cs == 1 && cols == nr) {
            for (int64_t p = 0; p < kc; ++p) {
                std::memcpy(out + p * nr, b.data + p * b.rs + jr, sizeof(float) * nr);
            }
        } else {
            for (int64_t p = 0; p < kc; ++p) {
                for (int j = 0; j < nr; ++j) out[p * nr + j] = j < cols ? b(p, jr + j) : 0.0f;
            }
        }
        out += kc * nr;
    }
}

template <Activation A>
inline float act_fixed(float y) {
    return activate(A, y);
}

template <Activation A>
inline float act_grad_fixed(float a) {
    return activation_grad_from_output(A, a);
}

template <Activation A>
void epilogue_tile_act(const Epilogue<float>& ep, float* c, int64_t ldc, int64_t i0, int64_t j0,
                       int64_t rows, int64_t cols) {
    if (ep.kind == EpilogueKind::bias_act) {
        for (int64_t i = 0; i < rows; ++i) {
            float* ci = c + i * ldc;
            if (ep.scale != nullptr && ep.shift != nullptr) {
                for (int64_t j = 0; j < cols; ++j) {
                    ci[j] = act_fixed<A>(ci[j] * ep.scale[j0 + j] + ep.shift[j0 + j]);
                }
            } else if (ep.scale != nullptr) {
                for (int64_t j = 0; j < cols; ++j) ci[j] = act_fixed<A>(ci[j] * ep.scale[j0 + j]);
            } else if (ep.shift != nullptr) {
                for (int64_t j = 0; j < cols; ++j) ci[j] = act_fixed<A>(ci[j] + ep.shift[j0 + j]);
            } else {
                for (int64_t j = 0; j < cols; ++j) ci[j] = act_fixed<A>(ci[j]);
            }
        }
    } else {
        for (int64_t i = 0; i < rows; ++i) {
            float* ci = c + i * ldc;
            const float* ai = ep.aux + (i0 + i) * ep.ldaux + j0;
            for (int64_t j = 0; j < cols; ++j) ci[j] *= act_grad_fixed<A>(ai[j]);
        }
    }
}

// Apply the epilogue to the finished tile at (i0, j0) of C; c points at C(i0, j0).
void epilogue_tile(const Epilogue<float>& ep, float* c, int64_t ldc, int64_t i0, int64_t j0,
                   int64_t rows, int64_t cols) {
    switch (ep.act) {
        case Activation::relu:
            return epilogue_tile_act<Activation::relu>(ep, c, ldc, i0, j0, rows, cols);
        case Activation::leaky_relu:
            return epilogue_tile_act<Activation::leaky_relu>(ep, c, ldc, i0, j0, rows, cols);
        case Activation::tanh:
            return epilogue_tile_act<Activation::tanh>(ep, c, ldc, i0, j0, rows, cols);
        case Activation::sigmoid:
            return epilogue_tile_act<Activation::sigmoid>(ep, c, ldc, i0, j0, rows, cols);
        case Activation::identity:
        default:
            return epilogue_tile_act<Activation::identity>(ep, c, ldc, i0, j0, rows, cols);
    }
}

}  // namespace

template <typename T>
void gemm_reference(int64_t m, int64_t n, int64_t k, ConstView<T> a, ConstView<T> b, T* c,
                    int64_t ldc, bool accumulate, const Epilogue<T>& ep) {
    for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
            T acc = T(0);
            for (int64_t p = 0; p < k; ++p) acc += a(i, p) * b(p, j);
            T& out = c[i * ldc + j];
            out = accumulate ? out + acc : apply_epilogue(ep, acc, i, j);
        }
    }
}

template void gemm_reference<float>(int64_t, int64_t, int64_t, ConstView<float>,
                                    ConstView<float>, float*, int64_t, bool,
                                    const Epilogue<float>&);
template void gemm_reference<double>(int64_t, int64_t, int64_t, ConstView<double>,
                                     ConstView<double>, double*, int64_t, bool,
                                     const Epilogue<double>&);

int64_t gemm_scratch_a_floats() { return kMC * kKC; }

int64_t gemm_scratch_b_floats(int64_t max_n) {
    const int64_t n = std::min<int64_t>(std::max<int64_t>(max_n, 1), kNC);
    return kKC * ((n + kMaxNR - 1) / kMaxNR * kMaxNR);
}

void gemm(int64_t m, int64_t n, int64_t k, ConstView<float> a, ConstView<float> b, float* c,
          int64_t ldc, bool accumulate, const Epilogue<float>& ep, const GemmScratch& scratch) {
    if (m <= 0 || n <= 0) return;
    const bool has_epilogue = ep.kind != EpilogueKind::none;
    if (k <= 0) {
        for (int64_t i = 0; i < m; ++i) {
            if (!accumulate) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
        }
        if (has_epilogue) epilogue_tile(ep, c, ldc, 0, 0, m, n);
        return;
    }

    const detail::KernelInfo info = info_by_name(kAllKernels[kernel_index()]);
    const int mr = info.mr;
    const int nr = info.nr;
    alignas(64) float tile[kMaxMR * kMaxNR];

    for (int64_t jc = 0; jc < n; jc += kNC) {
        const int64_t nc = std::min(kNC, n - jc);
        for (int64_t pc = 0; pc < k; pc += kKC) {
            const int64_t kc = std::min(kKC, k - pc);
            const bool acc_flag = accumulate || pc > 0;
            const bool last = pc + kc == k;
            pack_b(kc, nc, ConstView<float>{b.data + pc * b.rs + jc * b.cs, b.rs, b.cs}, nr,
                   scratch.b_pack);

            for (int64_t ic = 0; ic < m; ic += kMC) {
                const int64_t mc = std::min(kMC, m - ic);
                pack_a(mc, kc, ConstView<float>{a.data + ic * a.rs + pc * a.cs, a.rs, a.cs}, mr,
                       scratch.a_pack);

                for (int64_t jr = 0; jr < nc; jr += nr) {
                    const int64_t cols = std::min<int64_t>(nr, nc - jr);
                    const float* bp = scratch.b_pack + jr * kc;
                    for (int64_t ir = 0; ir < mc; ir += mr) {
                        const int64_t rows = std::min<int64_t>(mr, mc - ir);
                        const float* ap = scratch.a_pack + ir * kc;
                        float* ct = c + (ic + ir) * ldc + jc + jr;
                        if (rows == mr && cols == nr) {
                            info.kernel(kc, ap, bp, ct, ldc, acc_flag);
                        } else {
                            // Edge tile: compute into a full-size scratch tile, copy the
                            // valid part.
                            if (acc_flag) {
                                for (int64_t i = 0; i < rows; ++i) {
                                    std::memcpy(tile + i * nr, ct + i * ldc, sizeof(float) * cols);
                                }
                            }
                            info.kernel(kc, ap, bp, tile, nr, acc_flag);
                            for (int64_t i = 0; i < rows; ++i) {
                                std::memcpy(ct + i * ldc, tile + i * nr, sizeof(float) * cols);
                            }
                        }
                        if (last && has_epilogue) {
                            epilogue_tile(ep, ct, ldc, ic + ir, jc + jr, rows, cols);
                        }
                    }
                }
            }
        }
    }
}

const char* gemm_kernel_name() { return kAllKernels[kernel_index()]; }

bool set_gemm_kernel(const char* name) {
    for (int i = 0; i < 3; ++i) {
        if (std::strcmp(name, kAllKernels[i]) == 0 && usable(kAllKernels[i])) {
            g_kernel.store(i, std::memory_order_release);
            return true;
        }
    }
    return false;
}

int available_gemm_kernels(const char** names, int capacity) {
    int count = 0;
    for (int i = 0; i < 3 && count < capacity; ++i) {
        if (usable(kAllKernels[i])) names[count++] = kAllKernels[i];
    }
    return count;
}

}  // namespace tunecore::mlp
