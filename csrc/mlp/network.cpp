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
    layout.max_width = n_features;
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
        T* w = model.params.data() + layer.w;
        for (int64_t i = 0; i < layer.in * layer.out; ++i) {
            const double u = random_unit(config.seed, uint64_t(l), uint64_t(i));
            w[i] = static_cast<T>((2.0 * u - 1.0) * bound);
        }
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

template <typename T>
double loss_sum(const Config& config, const Workspace<T>& ws, int64_t rows, T* delta) {
    const int64_t k = config.n_outputs;
    const T* z = ws.out.back().data();
    double total = 0.0;
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
            std::fill_n(gb, layer.out, T(0));
            for (int64_t i = 0; i < rows; ++i) {
                const T* di = d + i * layer.out;
                for (int64_t j = 0; j < layer.out; ++j) gb[j] += di[j];
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
