// The float32 product of the MLP: packing, cache blocking, epilogues and the run-time choice
// of the micro-kernel; plus the reference loops. Blocking follows the usual three-level scheme:
// a KC x NC block of op(B) is packed once and reused by every MC x KC block of op(A); an
// MR x KC sliver of A and a packed KC x NR sliver of B meet in registers in the micro-kernel.
// The AVX-512 kernels read the sliver of A where it lies; the others read it packed.
#include "mlp/gemm.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "common/fork_safety.hpp"
#include "mlp/gemm_kernels.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace tunecore::mlp {

namespace {

// Cache blocks. MC is a multiple of every MR (4, 6, 8, 16); KC * NR floats of B (32 KB) sit in
// L1 next to the A sliver; MC * KC floats of A (144 KB) and KC * NC floats of B (512 KB) share
// L2. NC = 2048 (2 MB of B) measured 25% slower on a 2048^3 product: B no longer stayed in L2.
// The depth is cut into equal blocks of at most KC (784 = 4 x 196, not 3 x 256 + 16), so no
// block is a short tail that costs a full load and store of C for a few steps.
constexpr int64_t kMC = 144;
constexpr int64_t kKC = 256;
constexpr int64_t kNC = 512;
constexpr int kMaxMR = 16;
constexpr int kMaxNR = 32;

// Portable micro-kernel: fixed trip counts the compiler unrolls and vectorizes with whatever
// the baseline instruction set offers (SSE2 on x86-64, NEON on arm64).
constexpr int kPortableMR = 4;
constexpr int kPortableNR = 16;

void portable_kernel(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                     int64_t ldc, bool accumulate) {
    float acc[kPortableMR][kPortableNR] = {};
    for (int64_t p = 0; p < kc; ++p) {
        const float* ap = a + p * kPortableMR;
        const float* bp = b + p * ldb;
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

// out[p * L + j] = src[p * stride + j] for j < L, p < kc: the full-panel copies of packing,
// with one clone per instruction set (a 32-float step is two AVX-512 moves, eight SSE ones).
TUNECORE_CLONES void copy_steps32(int64_t kc, const float* src, int64_t stride, float* out) {
    for (int64_t p = 0; p < kc; ++p) {
        for (int j = 0; j < 32; ++j) out[p * 32 + j] = src[p * stride + j];
    }
}

TUNECORE_CLONES void copy_steps16(int64_t kc, const float* src, int64_t stride, float* out) {
    for (int64_t p = 0; p < kc; ++p) {
        for (int j = 0; j < 16; ++j) out[p * 16 + j] = src[p * stride + j];
    }
}

template <int L>
void copy_steps(int64_t kc, const float* src, int64_t stride, float* out) {
    if constexpr (L == 32) {
        copy_steps32(kc, src, stride, out);
    } else if constexpr (L == 16) {
        copy_steps16(kc, src, stride, out);
    } else {
        for (int64_t p = 0; p < kc; ++p) {
            for (int j = 0; j < L; ++j) out[p * L + j] = src[p * stride + j];
        }
    }
}

// A row of zeros as long as any depth block: the source of the padding rows of a partial
// panel, so the vector transposes serve it like a full one.
alignas(64) const float kZeroRow[kKC] = {};

// Pack `count` (< L) lines of a panel of width L whose elements, step p, are the
// contiguous floats src + p * stride: copy them and zero the rest of each step.
template <int L>
void pack_contiguous_partial(int64_t kc, const float* src, int64_t stride, int64_t count,
                             float* out) {
    std::memset(out, 0, sizeof(float) * size_t(kc) * L);
    for (int64_t p = 0; p < kc; ++p) {
        const float* from = src + p * stride;
        float* to = out + p * L;
        for (int64_t i = 0; i < count; ++i) to[i] = from[i];
    }
}

// Pack a panel of width L whose lines are contiguous sources (line i at lines[i], step p at
// lines[i][p]): 8 lines at a time through the vector transposes, lines past `count` read from
// the zero row. Without the transposes (or a depth beyond the zero row), element by element.
template <int L>
void pack_transposed(int64_t kc, const float* const* lines, int64_t count, float* out,
                     detail::PackRows8 rows8) {
    if (L % 8 == 0 && rows8 != nullptr && kc <= kKC) {
        const float* src[L];
        for (int i = 0; i < L; ++i) src[i] = i < count ? lines[i] : kZeroRow;
        for (int i = 0; i < L; i += 8) rows8(kc, src + i, out + i, L);
        return;
    }
    for (int64_t p = 0; p < kc; ++p) {
        for (int i = 0; i < L; ++i) out[p * L + i] = i < count ? lines[i][p] : 0.0f;
    }
}

// Pack rows [0, mc) x depth [0, kc) of op(A) into MR-row panels, zero-padding the last one.
// MR is a template argument so the common copies are fixed-size moves, not memcpy calls.
template <int MR>
void pack_a_fixed(int64_t mc, int64_t kc, ConstView<float> a, float* out,
                  detail::PackRows8 rows8) {
    for (int64_t ir = 0; ir < mc; ir += MR) {
        const int64_t rows = std::min<int64_t>(MR, mc - ir);
        if (a.rs == 1 && rows == MR) {
            // op(A) is a transposed row-major matrix: each step of p is MR contiguous floats.
            copy_steps<MR>(kc, a.data + ir, a.cs, out);
        } else if (a.rs == 1) {
            pack_contiguous_partial<MR>(kc, a.data + ir, a.cs, rows, out);
        } else if (a.cs == 1) {
            // Row-major: read MR rows side by side, each contiguously; 8 rows at a time through
            // the vector transposes where the CPU has them.
            const float* src[MR];
            for (int i = 0; i < MR; ++i) {
                src[i] = a.data + (ir + std::min<int64_t>(i, rows - 1)) * a.rs;
            }
            pack_transposed<MR>(kc, src, rows, out, rows8);
        } else {
            for (int64_t p = 0; p < kc; ++p) {
                for (int i = 0; i < MR; ++i) {
                    out[p * MR + i] = i < rows ? a(ir + i, p) : 0.0f;
                }
            }
        }
        out += kc * MR;
    }
}

// Pack depth [0, kc) x columns [0, nc) of op(B) into NR-column panels, zero-padding the last.
template <int NR>
void pack_b_fixed(int64_t kc, int64_t nc, ConstView<float> b, float* out,
                  detail::PackRows8 rows8) {
    for (int64_t jr = 0; jr < nc; jr += NR) {
        const int64_t cols = std::min<int64_t>(NR, nc - jr);
        if (b.cs == 1 && cols == NR) {
            copy_steps<NR>(kc, b.data + jr, b.rs, out);
        } else if (b.cs == 1) {
            pack_contiguous_partial<NR>(kc, b.data + jr, b.rs, cols, out);
        } else if (b.rs == 1) {
            // op(B) is transposed (W^T of the input gradients): each column is a contiguous
            // source row.
            const float* src[NR];
            for (int j = 0; j < NR; ++j) {
                src[j] = b.data + (jr + std::min<int64_t>(j, cols - 1)) * b.cs;
            }
            pack_transposed<NR>(kc, src, cols, out, rows8);
        } else {
            for (int64_t p = 0; p < kc; ++p) {
                for (int j = 0; j < NR; ++j) out[p * NR + j] = j < cols ? b(p, jr + j) : 0.0f;
            }
        }
        out += kc * NR;
    }
}
void pack_a(int64_t mc, int64_t kc, ConstView<float> a, int mr, float* out) {
    // The AVX2 transposes serve the AVX-512 kernels (8 and 16 rows); any CPU with AVX-512F
    // has AVX2.
    static const detail::PackRows8 rows8 = usable("avx2") ? detail::avx2_pack_rows8() : nullptr;
    switch (mr) {
        case 16:
            return pack_a_fixed<16>(mc, kc, a, out, rows8);
        case 8:
            return pack_a_fixed<8>(mc, kc, a, out, rows8);
        case 6:
            return pack_a_fixed<6>(mc, kc, a, out, nullptr);
        default:
            return pack_a_fixed<4>(mc, kc, a, out, nullptr);
    }
}

void pack_b(int64_t kc, int64_t nc, ConstView<float> b, int nr, float* out) {
    static const detail::PackRows8 rows8 = usable("avx2") ? detail::avx2_pack_rows8() : nullptr;
    switch (nr) {
        case 32:
            return pack_b_fixed<32>(kc, nc, b, out, rows8);
        default:
            return pack_b_fixed<16>(kc, nc, b, out, rows8);
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

namespace {

int64_t round16(int64_t x) { return (x + 15) / 16 * 16; }

// Floats of one thread's packing area: an MC x KC block of A and a KC x NC block of B.
int64_t region_floats(int64_t max_n) {
    const int64_t n = std::min<int64_t>(std::max<int64_t>(max_n, 1), kNC);
    return round16(kMC * kKC) + round16(kKC * ((n + kMaxNR - 1) / kMaxNR * kMaxNR));
}

// Work (m * n * k multiply-adds) below which threads cost more than they save: a product of
// 16 M multiply-adds takes about 100 us on one core, against some 5-10 us to wake and join a
// second thread and pack its own operands (784-128-128-10 at batch 128 stays on one thread;
// 784-512-512-10 at batch 512 splits all but the output layer).
constexpr int64_t kParallelWork = int64_t(1) << 24;

// A row-major B of at most this many floats (32 KB: L1) is read in place by the micro-kernel
// instead of packed: for the small layers of small networks, packing cost as much as the
// product. Larger ones are packed, which also avoids cache-set conflicts of long strides.
constexpr int64_t kDirectB = 8192;

// The blocked loops on one thread, packing into `area` (region_floats(n) floats).
void gemm_serial(int64_t m, int64_t n, int64_t k, ConstView<float> a, ConstView<float> b,
                 float* c, int64_t ldc, bool accumulate, const Epilogue<float>& ep, float* area,
                 const detail::KernelInfo& info) {
    const int mr = info.mr;
    const int nr = info.nr;
    const bool has_epilogue = ep.kind != EpilogueKind::none;
    // Full tiles of the last depth block finish in registers where the kernel can.
    const bool fuse = has_epilogue && (info.fused != nullptr || info.in_place != nullptr) &&
                      detail::fusable(ep);
    float* a_pack = area;
    float* b_pack = area + round16(kMC * kKC);
    alignas(64) float tile[kMaxMR * kMaxNR];

    const bool direct_b = b.cs == 1 && k * n <= kDirectB;
    // Kernels that read op(A) where it lies skip its packing: the 8 or 16 rows a tile reads
    // stream from L1 and L2 as fast as a packed panel, and copying them cost more (7% of a
    // study of small networks) than the packed layout saved.
    const bool in_place_a = info.in_place != nullptr;
    const int64_t k_blocks = (k + kKC - 1) / kKC;
    const int64_t k_step = (k + k_blocks - 1) / k_blocks;
    for (int64_t jc = 0; jc < n; jc += kNC) {
        const int64_t nc = std::min(kNC, n - jc);
        for (int64_t pc = 0; pc < k; pc += k_step) {
            const int64_t kc = std::min(k_step, k - pc);
            const bool acc_flag = accumulate || pc > 0;
            const bool last = pc + kc == k;
            const ConstView<float> b_block{b.data + pc * b.rs + jc * b.cs, b.rs, b.cs};
            if (!direct_b) {
                pack_b(kc, nc, b_block, nr, b_pack);
            } else if (nc % nr != 0) {
                // Only the last, partial panel needs packing (zero padding).
                const int64_t jr = nc / nr * nr;
                pack_b(kc, nc - jr, ConstView<float>{b_block.data + jr, b.rs, 1}, nr,
                       b_pack + jr * kc);
            }

            for (int64_t ic = 0; ic < m; ic += kMC) {
                const int64_t mc = std::min(kMC, m - ic);
                const float* a_block = a.data + ic * a.rs + pc * a.cs;
                if (!in_place_a) pack_a(mc, kc, ConstView<float>{a_block, a.rs, a.cs}, mr, a_pack);

                for (int64_t jr = 0; jr < nc; jr += nr) {
                    const int64_t cols = std::min<int64_t>(nr, nc - jr);
                    const bool in_place = direct_b && cols == nr;
                    const float* bp = in_place ? b_block.data + jr : b_pack + jr * kc;
                    const int64_t ldb = in_place ? b.rs : nr;
                    for (int64_t ir = 0; ir < mc; ir += mr) {
                        const int64_t rows = std::min<int64_t>(mr, mc - ir);
                        float* ct = c + (ic + ir) * ldc + jc + jr;
                        if (in_place_a) {
                            const bool fused = fuse && last;
                            info.in_place(kc, a_block + ir * a.rs, a.rs, a.cs, bp, ldb, ct, ldc,
                                          acc_flag, rows, cols, fused ? &ep : nullptr, ic + ir,
                                          jc + jr);
                            if (last && has_epilogue && !fused) {
                                epilogue_tile(ep, ct, ldc, ic + ir, jc + jr, rows, cols);
                            }
                            continue;
                        }
                        const float* ap = a_pack + ir * kc;
                        if (rows == mr && cols == nr && fuse && last) {
                            info.fused(kc, ap, bp, ldb, ct, ldc, acc_flag, ep, ic + ir, jc + jr);
                            continue;
                        }
                        if (rows == mr && cols == nr) {
                            info.kernel(kc, ap, bp, ldb, ct, ldc, acc_flag);
                        } else if (info.edge != nullptr) {
                            const bool fused_edge = fuse && last;
                            info.edge(kc, ap, bp, ldb, ct, ldc, acc_flag, rows, cols,
                                      fused_edge ? &ep : nullptr, ic + ir, jc + jr);
                            if (fused_edge) continue;
                        } else {
                            // Edge tile: compute into a full-size scratch tile, copy the
                            // valid part. The kernel does the same arithmetic per element.
                            if (acc_flag) {
                                for (int64_t i = 0; i < rows; ++i) {
                                    std::memcpy(tile + i * nr, ct + i * ldc, sizeof(float) * cols);
                                }
                            }
                            info.kernel(kc, ap, bp, ldb, tile, nr, acc_flag);
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

}  // namespace

int64_t gemm_scratch_floats(int64_t max_n, int threads) {
    return int64_t(std::max(threads, 1)) * region_floats(max_n);
}

void GemmBuffer::init(int64_t max_n, int threads) {
    threads = std::max(threads, 1);
    // Cache-line aligned already (Buffer); resize leaves it unwritten, so a trial's pages of
    // packing area it never uses are never touched.
    storage.resize(gemm_scratch_floats(max_n, threads));
    scratch.data = storage.data();
    scratch.max_n = max_n;
    scratch.threads = threads;
}

// Threads split C into contiguous ranges of whole NR-column panels; each runs the serial
// algorithm on its range with its own packing area, with no synchronization but the end of
// the region (so a descheduled thread delays only its own range, and nobody spins at
// barriers on a busy machine). Every element is computed by one thread with the same
// arithmetic whatever the split, so results do not depend on the thread count.
void gemm(int64_t m, int64_t n, int64_t k, ConstView<float> a, ConstView<float> b, float* c,
          int64_t ldc, bool accumulate, const Epilogue<float>& ep, const GemmScratch& scratch) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int64_t i = 0; i < m; ++i) {
            if (!accumulate) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
        }
        if (ep.kind != EpilogueKind::none) epilogue_tile(ep, c, ldc, 0, 0, m, n);
        return;
    }
    if (n > scratch.max_n && scratch.max_n < kNC) {
        // The packing area holds KC x min(max_n, NC) floats of B; a wider product would write
        // past it.
        throw std::logic_error("gemm: product wider than its scratch was sized for");
    }
    detail::KernelInfo info = info_by_name(kAllKernels[kernel_index()]);
    if (n <= 16 && std::strcmp(info.name, "avx512") == 0) {
        // Narrow products (the output layer) waste less of a 16-wide tile than of a 32-wide
        // one. Both kernels do one fused multiply-add per element and step of p, in the same
        // order, so the result is bitwise the same whichever runs.
        const detail::KernelInfo narrow = detail::avx512_narrow_kernel();
        if (narrow.kernel != nullptr) info = narrow;
    }
    const int64_t panels = (n + info.nr - 1) / info.nr;
    int threads = 1;
    if (scratch.threads > 1 && m * n * k >= kParallelWork && panels > 1) {
        threads = int(std::min<int64_t>(scratch.threads, panels));
        if (!parallel_regions_safe()) threads = 1;  // a forked child: see fork_safety.hpp
    }
    if (threads == 1) {
        gemm_serial(m, n, k, a, b, c, ldc, accumulate, ep, scratch.data, info);
        return;
    }
    const int64_t region = region_floats(scratch.max_n);
    // Twice as many column ranges as threads, handed out one at a time: a thread the scheduler
    // leaves waiting holds back one range, not half the product, while the others take the
    // rest. (Each range packs its own copy of A, so more ranges cost more packing.)
    const int chunks = int(std::min<int64_t>(panels, int64_t(threads) * 2));
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
#endif
    for (int q = 0; q < chunks; ++q) {
#ifdef _OPENMP
        const int t = omp_get_thread_num();
#else
        const int t = 0;
#endif
        const int64_t j0 = std::min(n, panels * q / chunks * info.nr);
        const int64_t j1 = std::min(n, panels * (q + 1) / chunks * info.nr);
        if (j1 <= j0) continue;
        Epilogue<float> part = ep;
        if (part.scale) part.scale += j0;
        if (part.shift) part.shift += j0;
        if (part.aux) part.aux += j0;
        gemm_serial(m, j1 - j0, k, a, ConstView<float>{b.data + j0 * b.cs, b.rs, b.cs}, c + j0,
                    ldc, accumulate, part, scratch.data + t * region, info);
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
