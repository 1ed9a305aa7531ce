#include "mlp/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <utility>

#include "mlp/rng.hpp"

namespace tunecore::mlp {

Layout make_layout(const Config& config, int64_t n_features) {
    Layout layout;
    layout.n_features = n_features;
    // The input never gets a delta (the first layer computes no input gradient) and is never
    // the right operand of a product, so its width does not count: a 784-128-128-10 trial
    // keeps 2 x batch x 128 floats of deltas and a 128-column packing area, not 784.
    layout.max_width = 0;
    int64_t offset = 0;
    int64_t running = 0;
    int64_t in = n_features;
    const size_t n_layers = config.hidden.size() + 1;
    for (size_t l = 0; l < n_layers; ++l) {
        const bool last = l + 1 == n_layers;
        LayerLayout layer;
        layer.in = in;
        layer.out = last ? config.n_outputs : config.hidden[l];
        layer.act = last ? Activation::identity : config.activation;
        layer.w = offset;
        offset += layer.in * layer.out;
        if (!last && config.batch_norm) {
            layer.gamma = offset;
            layer.beta = offset + layer.out;
            offset += 2 * layer.out;
            layer.running = running;
            running += 2 * layer.out;
        } else {
            layer.b = offset;
            offset += layer.out;
        }
        layout.max_width = std::max(layout.max_width, layer.out);
        layout.layers.push_back(layer);
        in = layer.out;
    }
    layout.n_params = offset;
    layout.n_running = running;
    return layout;
}

namespace {

// w[i] = (2 u_i - 1) * bound with u_i = random_unit(seed, stream, i). Every operation is exact
// but the final product and the rounding to T (2 u - 1 is exact for u in [0, 1) with 53 bits),
// so the vectorized clones give the scalar loop's bits; 784-512-512-10 initializes 4 times
// faster.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#endif
void fill_uniform_f32(float* w, int64_t n, uint64_t seed, uint64_t stream, double bound) {
    const uint64_t key = mix64(seed ^ mix64(stream + 0x9e3779b97f4a7c15ULL));
    for (int64_t i = 0; i < n; ++i) {
        const uint64_t bits = mix64(key + uint64_t(i) * 0x9e3779b97f4a7c15ULL);
        const double u = static_cast<double>(int64_t(bits >> 11)) * 0x1.0p-53;
        w[i] = static_cast<float>((2.0 * u - 1.0) * bound);
    }
}

template <typename T>
void fill_uniform(T* w, int64_t n, uint64_t seed, uint64_t stream, double bound) {
    if constexpr (std::is_same_v<T, float>) {
        fill_uniform_f32(w, n, seed, stream, bound);
    } else {
        for (int64_t i = 0; i < n; ++i) {
            const double u = random_unit(seed, stream, uint64_t(i));
            w[i] = static_cast<T>((2.0 * u - 1.0) * bound);
        }
    }
}

}  // namespace

template <typename T>
Model<T> init_model(const Config& config, int64_t n_features) {
    Model<T> model;
    model.layout = make_layout(config, n_features);
    model.params.assign(model.layout.n_params, T(0));
    model.running.assign(model.layout.n_running, T(0));
    const size_t n_layers = model.layout.layers.size();
    for (size_t l = 0; l < n_layers; ++l) {
        const LayerLayout& layer = model.layout.layers[l];
        const bool he = l + 1 < n_layers && (layer.act == Activation::relu ||
                                             layer.act == Activation::leaky_relu);
        const double fan = he ? double(layer.in) : double(layer.in + layer.out);
        const double bound = std::sqrt(6.0 / fan);
        fill_uniform(model.params.data() + layer.w, layer.in * layer.out, config.seed,
                     uint64_t(l), bound);
        if (layer.gamma >= 0) {
            std::fill_n(model.params.data() + layer.gamma, layer.out, T(1));
            std::fill_n(model.running.data() + layer.running + layer.out, layer.out, T(1));
        }
    }
    return model;
}

template <typename T>
void init_workspace(Workspace<T>& ws, const Layout& layout, int64_t capacity, int threads) {
    ws.capacity = capacity;
    ws.input.assign(capacity * layout.n_features, T(0));
    ws.out.resize(layout.layers.size());
    ws.zhat.resize(layout.layers.size());
    ws.stats.resize(layout.layers.size());
    for (size_t l = 0; l < layout.layers.size(); ++l) {
        const LayerLayout& layer = layout.layers[l];
        ws.out[l].assign(capacity * layer.out, T(0));
        if (layer.gamma >= 0) {
            ws.zhat[l].assign(capacity * layer.out, T(0));
            ws.stats[l].assign(6 * layer.out, T(0));
        } else {
            ws.zhat[l].clear();
            ws.stats[l].clear();
        }
    }
    ws.delta_a.assign(capacity * layout.max_width, T(0));
    ws.delta_b.assign(capacity * layout.max_width, T(0));
    ws.grad.assign(layout.n_params, T(0));
    const int64_t n_outputs = layout.layers.back().out;
    ws.labels.assign(capacity, 0);
    ws.targets.assign(capacity * n_outputs, T(0));
    if constexpr (std::is_same_v<T, float>) ws.gemm.init(layout.max_width, threads);
}

namespace {

// Train-mode batch norm and activation, in place: z (rows x out) becomes act(gamma * zhat +
// beta); zhat is kept for the backward pass, with mean and 1 / sqrt(var + eps) in stats.
template <typename T>
void batch_norm_train_forward(T* z, T* zhat, T* stats, T* running, const T* gamma,
                              const T* beta, int64_t rows, int64_t out, Activation act,
                              const Config& config) {
    T* mean = stats;
    T* inv_std = stats + out;
    T* var = stats + 4 * out;
    std::fill_n(mean, out, T(0));
    std::fill_n(var, out, T(0));
    for (int64_t i = 0; i < rows; ++i) {
        const T* zi = z + i * out;
        for (int64_t j = 0; j < out; ++j) mean[j] += zi[j];
    }
    const T inv_rows = T(1) / T(rows);
    for (int64_t j = 0; j < out; ++j) mean[j] *= inv_rows;
    // Two passes (mean first), so the variance never suffers the cancellation of E[z^2] - mu^2.
    for (int64_t i = 0; i < rows; ++i) {
        const T* zi = z + i * out;
        for (int64_t j = 0; j < out; ++j) {
            const T d = zi[j] - mean[j];
            var[j] += d * d;
        }
    }
    for (int64_t j = 0; j < out; ++j) {
        var[j] *= inv_rows;
        inv_std[j] = T(1) / std::sqrt(var[j] + T(config.bn_eps));
    }
    for (int64_t i = 0; i < rows; ++i) {
        T* zi = z + i * out;
        T* hi = zhat + i * out;
        for (int64_t j = 0; j < out; ++j) {
            const T h = (zi[j] - mean[j]) * inv_std[j];
            hi[j] = h;
            zi[j] = activate(act, gamma[j] * h + beta[j]);
        }
    }
    const T m = T(config.bn_momentum);
    const T unbias = rows > 1 ? T(rows) / T(rows - 1) : T(1);
    T* running_mean = running;
    T* running_var = running + out;
    for (int64_t j = 0; j < out; ++j) {
        running_mean[j] = m * running_mean[j] + (T(1) - m) * mean[j];
        running_var[j] = m * running_var[j] + (T(1) - m) * var[j] * unbias;
    }
}

// Backward of train-mode batch norm, in place: dy (rows x out, the gradient after the
// activation derivative) becomes dz; writes (overwrites) d gamma and d beta.
//   dz = gamma * inv_std / rows * (rows * dy - sum_i dy - zhat * sum_i dy * zhat)
template <typename T>
void batch_norm_backward(T* dy, const T* zhat, const T* stats, const T* gamma, T* grad_gamma,
                         T* grad_beta, int64_t rows, int64_t out) {
    const T* inv_std = stats + out;
    std::fill_n(grad_gamma, out, T(0));
    std::fill_n(grad_beta, out, T(0));
    for (int64_t i = 0; i < rows; ++i) {
        const T* di = dy + i * out;
        const T* hi = zhat + i * out;
        for (int64_t j = 0; j < out; ++j) {
            grad_beta[j] += di[j];
            grad_gamma[j] += di[j] * hi[j];
        }
    }
    const T n = T(rows);
    for (int64_t i = 0; i < rows; ++i) {
        T* di = dy + i * out;
        const T* hi = zhat + i * out;
        for (int64_t j = 0; j < out; ++j) {
            di[j] = gamma[j] * inv_std[j] / n * (n * di[j] - grad_beta[j] - hi[j] * grad_gamma[j]);
        }
    }
}

}  // namespace

template <typename T>
void forward(Model<T>& model, const Config& config, Workspace<T>& ws, int64_t rows, bool train) {
    const T* x = ws.input.data();
    int64_t ldx = model.layout.n_features;
    for (size_t l = 0; l < model.layout.layers.size(); ++l) {
        if (ws.stopped()) return;
        const LayerLayout& layer = model.layout.layers[l];
        T* y = ws.out[l].data();
        const ConstView<T> a{x, ldx, 1};
        const ConstView<T> w{model.params.data() + layer.w, layer.out, 1};
        Epilogue<T> ep;
        ep.kind = EpilogueKind::bias_act;
        ep.act = layer.act;
        if (layer.gamma < 0) {
            ep.shift = model.params.data() + layer.b;
            gemm(rows, layer.out, layer.in, a, w, y, layer.out, false, ep, ws.gemm.scratch);
        } else if (!train) {
            // Eval mode folds the running statistics into one scale and shift per column.
            T* scale = ws.stats[l].data() + 2 * layer.out;
            T* shift = ws.stats[l].data() + 3 * layer.out;
            const T* gamma = model.params.data() + layer.gamma;
            const T* beta = model.params.data() + layer.beta;
            const T* running_mean = model.running.data() + layer.running;
            const T* running_var = running_mean + layer.out;
            for (int64_t j = 0; j < layer.out; ++j) {
                scale[j] = gamma[j] / std::sqrt(running_var[j] + T(config.bn_eps));
                shift[j] = beta[j] - running_mean[j] * scale[j];
            }
            ep.scale = scale;
            ep.shift = shift;
            gemm(rows, layer.out, layer.in, a, w, y, layer.out, false, ep, ws.gemm.scratch);
        } else {
            gemm(rows, layer.out, layer.in, a, w, y, layer.out, false, Epilogue<T>{},
                 ws.gemm.scratch);
            batch_norm_train_forward(y, ws.zhat[l].data(), ws.stats[l].data(),
                                     model.running.data() + layer.running,
                                     model.params.data() + layer.gamma,
                                     model.params.data() + layer.beta, rows, layer.out,
                                     layer.act, config);
        }
        x = y;
        ldx = layer.out;
    }
}

namespace {

// sum[j] = the sum over rows i of x[i * cols + j], adding the rows in order (as the plain loop
// does, so bitwise its result), 64 columns at a time held in registers across the rows rather
// than loaded and stored for every row.
TUNECORE_CLONES void sum_rows_f32(float* sum, const float* x, int64_t rows, int64_t cols) {
    constexpr int64_t kChunk = 64;
    int64_t j0 = 0;
    for (; j0 + kChunk <= cols; j0 += kChunk) {
        float acc[kChunk] = {};
        for (int64_t i = 0; i < rows; ++i) {
            const float* xi = x + i * cols + j0;
            for (int64_t j = 0; j < kChunk; ++j) acc[j] += xi[j];
        }
        for (int64_t j = 0; j < kChunk; ++j) sum[j0 + j] = acc[j];
    }
    if (j0 == cols) return;
    std::fill(sum + j0, sum + cols, 0.0f);
    for (int64_t i = 0; i < rows; ++i) {
        const float* xi = x + i * cols;
        for (int64_t j = j0; j < cols; ++j) sum[j] += xi[j];
    }
}

// x[i] = exp(x[i]) for the non-positive arguments of a max-shifted softmax, in one vectorized
// pass. std::exp is a call per element, and arguments below -87 (a confident prediction) send
// glibc down its slow underflow path; in a 64-64-10 step the softmax took 12% of the time.
// x = n ln2 + r with |r| <= ln2 / 2 (n by the round-to-nearest trick of adding 1.5 * 2^23,
// ln2 split in two so n ln2 is exact for the n that occur), then the Taylor series of exp(r)
// to r^7 / 7!: its truncation error is below 6e-9 relative, so the result is within 2 ulp.
// Arguments are clamped at -87, whose result (1.6e-38) is still a normal float that the scaling
// below can build; next to the softmax sum's largest term, 1, it is as good as zero.
TUNECORE_CLONES void exp_nonpositive(float* x, int64_t n) {
    constexpr float kLog2e = 1.44269504088896341f;
    constexpr float kLn2Hi = 0.693359375f;  // 355 / 512, 9 bits: n * kLn2Hi is exact
    constexpr float kLn2Lo = -2.12194440054690583e-4f;  // ln 2 - kLn2Hi
    constexpr float kRound = 12582912.0f;   // 1.5 * 2^23
    for (int64_t i = 0; i < n; ++i) {
        // NaN (a diverged network) becomes -87 too: the loss is NaN through the label's term,
        // and the conversion to int below never sees a NaN.
        const float v = x[i] > -87.0f ? std::min(x[i], 0.0f) : -87.0f;
        const float fn = (v * kLog2e + kRound) - kRound;
        const float r = (v - fn * kLn2Hi) - fn * kLn2Lo;
        float p = 1.0f / 5040.0f;
        p = p * r + 1.0f / 720.0f;
        p = p * r + 1.0f / 120.0f;
        p = p * r + 1.0f / 24.0f;
        p = p * r + 1.0f / 6.0f;
        p = p * r + 0.5f;
        p = p * r + 1.0f;
        p = p * r + 1.0f;
        // 2^fn, built in the exponent field: fn >= -126 keeps it a normal number.
        const int32_t bits = (static_cast<int32_t>(fn) + 127) << 23;
        float scale;
        std::memcpy(&scale, &bits, sizeof(scale));
        x[i] = p * scale;
    }
}

// Softmax cross-entropy of float logits, with its gradient: delta = (softmax - onehot) / rows.
// The shifted logits z - max(z) are written to delta and exponentiated there in one pass over
// the batch; the loss of a row is log sum exp(z - max z) - (z_label - max z).
double cross_entropy_with_grad(const float* z, const int32_t* labels, int64_t rows, int64_t k,
                               float* delta) {
    double total = 0.0;
    for (int64_t i = 0; i < rows; ++i) {
        const float* zi = z + i * k;
        float zmax = zi[0];
        for (int64_t j = 1; j < k; ++j) zmax = std::max(zmax, zi[j]);
        float* di = delta + i * k;
        for (int64_t j = 0; j < k; ++j) di[j] = zi[j] - zmax;
        total -= double(di[labels[i]]);
    }
    exp_nonpositive(delta, rows * k);
    const float inv_rows = 1.0f / float(rows);
    for (int64_t i = 0; i < rows; ++i) {
        float* di = delta + i * k;
        float sum = 0.0f;
        for (int64_t j = 0; j < k; ++j) sum += di[j];
        total += double(std::log(sum));
        const float scale = inv_rows / sum;
        for (int64_t j = 0; j < k; ++j) di[j] *= scale;
        di[labels[i]] -= inv_rows;
    }
    return total;
}

}  // namespace

template <typename T>
double loss_sum(const Config& config, const Workspace<T>& ws, int64_t rows, T* delta) {
    const int64_t k = config.n_outputs;
    const T* z = ws.out.back().data();
    double total = 0.0;
    if constexpr (std::is_same_v<T, float>) {
        if (config.loss == Loss::cross_entropy && delta != nullptr) {
            return cross_entropy_with_grad(z, ws.labels.data(), rows, k, delta);
        }
    }
    if (config.loss == Loss::cross_entropy) {
        const T inv_rows = T(1) / T(rows);
        for (int64_t i = 0; i < rows; ++i) {
            const T* zi = z + i * k;
            // log-sum-exp shifted by the maximum: exp never overflows, logits of 1e4 are fine.
            T zmax = zi[0];
            for (int64_t j = 1; j < k; ++j) zmax = std::max(zmax, zi[j]);
            T sum = T(0);
            const int32_t label = ws.labels[i];
            if (delta != nullptr) {
                // Keep each exp in delta, then scale it into the softmax gradient.
                T* di = delta + i * k;
                for (int64_t j = 0; j < k; ++j) {
                    di[j] = std::exp(zi[j] - zmax);
                    sum += di[j];
                }
                const T scale = inv_rows / sum;
                for (int64_t j = 0; j < k; ++j) di[j] *= scale;
                di[label] -= inv_rows;
            } else {
                for (int64_t j = 0; j < k; ++j) sum += std::exp(zi[j] - zmax);
            }
            total += double(zmax + std::log(sum) - zi[label]);
        }
    } else if (config.loss == Loss::binary_cross_entropy) {
        const T scale = T(1) / (T(rows) * T(k));
        for (int64_t i = 0; i < rows; ++i) {
            double row = 0.0;
            for (int64_t j = 0; j < k; ++j) {
                const T zij = z[i * k + j];
                const T y = ws.targets[i * k + j];
                // -[y log s(z) + (1 - y) log(1 - s(z))] = max(z, 0) - y z + log(1 + exp(-|z|))
                row += double(std::max(zij, T(0)) - y * zij + std::log1p(std::exp(-std::abs(zij))));
                if (delta != nullptr) {
                    delta[i * k + j] = (activate(Activation::sigmoid, zij) - y) * scale;
                }
            }
            total += row / double(k);
        }
    } else {
        const T scale = T(2) / (T(rows) * T(k));
        for (int64_t i = 0; i < rows; ++i) {
            double row = 0.0;
            for (int64_t j = 0; j < k; ++j) {
                const T d = z[i * k + j] - ws.targets[i * k + j];
                row += double(d) * double(d);
                if (delta != nullptr) delta[i * k + j] = d * scale;
            }
            total += row / double(k);
        }
    }
    return total;
}

template <typename T>
void backward(const Model<T>& model, const Config& config, Workspace<T>& ws, int64_t rows) {
    T* d = ws.delta_a.data();
    T* other = ws.delta_b.data();
    const T* params = model.params.data();
    T* grad = ws.grad.data();
    const auto& layers = model.layout.layers;
    for (int64_t l = int64_t(layers.size()) - 1; l >= 0; --l) {
        if (ws.stopped()) return;
        const LayerLayout& layer = layers[l];
        const T* x = l == 0 ? ws.input.data() : ws.out[l - 1].data();
        const int64_t ldx = layer.in;

        // dW (in x out) = x^T d, overwritten; then the L2 term l2 * W.
        T* gw = grad + layer.w;
        gemm(layer.in, layer.out, rows, ConstView<T>{x, 1, ldx}, ConstView<T>{d, layer.out, 1},
             gw, layer.out, false, Epilogue<T>{}, ws.gemm.scratch);
        if (config.l2 > 0.0) {
            const T l2 = T(config.l2);
            const T* w = params + layer.w;
            for (int64_t i = 0; i < layer.in * layer.out; ++i) gw[i] += l2 * w[i];
        }
        if (layer.b >= 0) {
            T* gb = grad + layer.b;
            if constexpr (std::is_same_v<T, float>) {
                sum_rows_f32(gb, d, rows, layer.out);
            } else {
                std::fill_n(gb, layer.out, T(0));
                for (int64_t i = 0; i < rows; ++i) {
                    const T* di = d + i * layer.out;
                    for (int64_t j = 0; j < layer.out; ++j) gb[j] += di[j];
                }
            }
        }
        if (l == 0) break;

        // d a_{l-1} (rows x in) = d W^T, times act'(a_{l-1}) in the epilogue.
        const LayerLayout& prev = layers[l - 1];
        Epilogue<T> ep;
        ep.kind = EpilogueKind::mul_act_grad;
        ep.act = prev.act;
        ep.aux = ws.out[l - 1].data();
        ep.ldaux = layer.in;
        gemm(rows, layer.in, layer.out, ConstView<T>{d, layer.out, 1},
             ConstView<T>{params + layer.w, 1, layer.out}, other, layer.in, false, ep,
             ws.gemm.scratch);
        if (prev.gamma >= 0) {
            batch_norm_backward(other, ws.zhat[l - 1].data(), ws.stats[l - 1].data(),
                                params + prev.gamma, grad + prev.gamma, grad + prev.beta, rows,
                                prev.out);
        }
        std::swap(d, other);
    }
}

#define TUNECORE_INSTANTIATE(T)                                                              \
    template Model<T> init_model<T>(const Config&, int64_t);                                 \
    template void init_workspace<T>(Workspace<T>&, const Layout&, int64_t, int);             \
    template void forward<T>(Model<T>&, const Config&, Workspace<T>&, int64_t, bool);        \
    template double loss_sum<T>(const Config&, const Workspace<T>&, int64_t, T*);            \
    template void backward<T>(const Model<T>&, const Config&, Workspace<T>&, int64_t);

TUNECORE_INSTANTIATE(float)
TUNECORE_INSTANTIATE(double)

#undef TUNECORE_INSTANTIATE

}  // namespace tunecore::mlp
