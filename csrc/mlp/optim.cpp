#include "mlp/optim.hpp"

#include <cmath>

namespace tunecore::mlp {

namespace {

// The float loops, written once per optimizer so each vectorizes on its own.
TUNECORE_CLONES void sgd_f32(float* w, const float* g, int64_t n, float rate) {
    for (int64_t i = 0; i < n; ++i) w[i] -= rate * g[i];
}

TUNECORE_CLONES void momentum_f32(float* w, const float* g, float* v, int64_t n, float rate,
                                  float mu) {
    for (int64_t i = 0; i < n; ++i) {
        v[i] = mu * v[i] + g[i];
        w[i] -= rate * v[i];
    }
}

TUNECORE_CLONES void rmsprop_f32(float* w, const float* g, float* s, int64_t n, float rate,
                                 float rho, float eps) {
    for (int64_t i = 0; i < n; ++i) {
        s[i] = rho * s[i] + (1.0f - rho) * g[i] * g[i];
        w[i] -= rate * g[i] / (std::sqrt(s[i]) + eps);
    }
}

TUNECORE_CLONES void adam_f32(float* w, const float* g, float* m, float* v, int64_t n,
                              float step_size, float inv_sqrt_bc2, float b1, float b2, float eps) {
    for (int64_t i = 0; i < n; ++i) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
    }
}

template <typename T>
struct FloatLoops {
    static constexpr bool enabled = false;
};

template <>
struct FloatLoops<float> {
    static constexpr bool enabled = true;
};

}  // namespace

template <typename T>
void init_optimizer(OptimizerState<T>& state, const Config& config, int64_t n_params) {
    state.step = 0;
    const bool first = config.optimizer == Optimizer::momentum ||
                       config.optimizer == Optimizer::adam;
    const bool second = config.optimizer == Optimizer::rmsprop ||
                        config.optimizer == Optimizer::adam;
    state.m.assign(first ? n_params : 0, T(0));
    state.v.assign(second ? n_params : 0, T(0));
}

template <typename T>
void optimizer_step(const Config& config, double lr, T* params, const T* grad, int64_t n,
                    OptimizerState<T>& state) {
    state.step += 1;
    switch (config.optimizer) {
        case Optimizer::sgd: {
            const T rate = T(lr);
            if constexpr (FloatLoops<T>::enabled) {
                sgd_f32(params, grad, n, rate);
                break;
            }
            for (int64_t i = 0; i < n; ++i) params[i] -= rate * grad[i];
            break;
        }
        case Optimizer::momentum: {
            const T rate = T(lr);
            const T mu = T(config.momentum);
            T* v = state.m.data();
            if constexpr (FloatLoops<T>::enabled) {
                momentum_f32(params, grad, v, n, rate, mu);
                break;
            }
            for (int64_t i = 0; i < n; ++i) {
                v[i] = mu * v[i] + grad[i];
                params[i] -= rate * v[i];
            }
            break;
        }
        case Optimizer::rmsprop: {
            const T rate = T(lr);
            const T rho = T(config.rho);
            const T eps = T(config.eps);
            T* s = state.v.data();
            if constexpr (FloatLoops<T>::enabled) {
                rmsprop_f32(params, grad, s, n, rate, rho, eps);
                break;
            }
            for (int64_t i = 0; i < n; ++i) {
                s[i] = rho * s[i] + (T(1) - rho) * grad[i] * grad[i];
                params[i] -= rate * grad[i] / (std::sqrt(s[i]) + eps);
            }
            break;
        }
        case Optimizer::adam:
        default: {
            // Bias corrections in double, once per step.
            const double t = double(state.step);
            const double bc1 = 1.0 - std::pow(config.beta1, t);
            const double bc2 = 1.0 - std::pow(config.beta2, t);
            const T step_size = T(lr / bc1);
            const T inv_sqrt_bc2 = T(1.0 / std::sqrt(bc2));
            const T b1 = T(config.beta1);
            const T b2 = T(config.beta2);
            const T eps = T(config.eps);
            T* m = state.m.data();
            T* v = state.v.data();
            if constexpr (FloatLoops<T>::enabled) {
                adam_f32(params, grad, m, v, n, step_size, inv_sqrt_bc2, b1, b2, eps);
                break;
            }
            for (int64_t i = 0; i < n; ++i) {
                const T g = grad[i];
                m[i] = b1 * m[i] + (T(1) - b1) * g;
                v[i] = b2 * v[i] + (T(1) - b2) * g * g;
                params[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
            }
            break;
        }
    }
}

double scheduled_lr(const Config& config, int64_t epoch) {
    const double k = config.decay_rate;
    const double e = double(epoch);
    switch (config.lr_decay) {
        case Decay::inverse_time:
            return config.lr / (1.0 + k * e);
        case Decay::exponential:
            return config.lr * std::pow(k, e);
        case Decay::step:
            return config.lr * std::pow(k, double(epoch / config.decay_steps));
        case Decay::cosine: {
            const double pi = 3.14159265358979323846;
            const double c = 0.5 * (1.0 + std::cos(pi * e / double(config.epochs)));
            return config.lr * (k + (1.0 - k) * c);
        }
        case Decay::none:
        default:
            return config.lr;
    }
}

template void init_optimizer<float>(OptimizerState<float>&, const Config&, int64_t);
template void init_optimizer<double>(OptimizerState<double>&, const Config&, int64_t);
template void optimizer_step<float>(const Config&, double, float*, const float*, int64_t,
                                    OptimizerState<float>&);
template void optimizer_step<double>(const Config&, double, double*, const double*, int64_t,
                                     OptimizerState<double>&);

}  // namespace tunecore::mlp
