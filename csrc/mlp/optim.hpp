// Optimizers and learning-rate schedules. With g the gradient (L2 term included), t the step
// number from 1 and lr the learning rate of the current epoch:
//   sgd:      w -= lr * g
//   momentum: v = momentum * v + g;                 w -= lr * v        (PyTorch's SGD momentum,
//             no dampening, no Nesterov; v starts at 0, so the first step is plain SGD)
//   rmsprop:  s = rho * s + (1 - rho) * g^2;        w -= lr * g / (sqrt(s) + eps)
//   adam:     m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2;
//             w -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
//             (bias-corrected Adam, in PyTorch's arithmetic order)
// Schedules, with epoch e counted from 0, k = decay_rate, s = decay_steps, E = epochs:
//   none: lr;  inverse_time: lr / (1 + k * e);  exponential: lr * k^e;
//   step: lr * k^floor(e / s);  cosine: lr * (k + (1 - k) * (1 + cos(pi * e / E)) / 2)
//   (cosine decays from lr towards k * lr; k = 0 goes towards 0).
#pragma once

#include <cstdint>
#include <vector>

#include "mlp/buffer.hpp"
#include "mlp/types.hpp"

namespace tunecore::mlp {

template <typename T>
struct OptimizerState {
    Buffer<T> m;  // momentum buffer / Adam's first moment
    Buffer<T> v;  // RMSprop's and Adam's second moment
    int64_t step = 0;  // steps taken so far
};

template <typename T>
void init_optimizer(OptimizerState<T>& state, const Config& config, int64_t n_params);

// One step on params (n entries) with grad; increments state.step first.
template <typename T>
void optimizer_step(const Config& config, double lr, T* params, const T* grad, int64_t n,
                    OptimizerState<T>& state);

// Learning rate of epoch `epoch` (from 0).
double scheduled_lr(const Config& config, int64_t epoch);

}  // namespace tunecore::mlp
