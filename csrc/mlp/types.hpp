// Names, configuration and the activation functions shared by the whole MLP core.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

// Element-wise loops that gain from wider vectors get one clone per instruction set, picked at
// load time (GCC's target_clones, Linux x86-64 only). GCC may contract a * b + c into an FMA in
// the AVX2 / AVX-512 clones, so the last bits can differ between machines with different
// instruction sets; on one machine the choice is fixed and results are reproducible.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define TUNECORE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TUNECORE_CLONES
#endif

namespace tunecore::mlp {

enum class Activation { relu, leaky_relu, tanh, sigmoid, identity };
enum class Loss { cross_entropy, binary_cross_entropy, mse };
enum class Optimizer { sgd, momentum, rmsprop, adam };
enum class Decay { none, inverse_time, exponential, step, cosine };

// Slope of leaky_relu for negative inputs (PyTorch's default).
constexpr double kLeakySlope = 0.01;

// Parse a name; throw std::invalid_argument naming `argument` and the valid options.
Activation parse_activation(const std::string& name);
Loss parse_loss(const std::string& name);
Optimizer parse_optimizer(const std::string& name);
Decay parse_decay(const std::string& name);

// Every hyperparameter of one training, already resolved (no defaults left to choose).
struct Config {
    std::vector<int> hidden;  // widths of the hidden layers, in order; may be empty
    Activation activation = Activation::relu;
    Loss loss = Loss::cross_entropy;
    Optimizer optimizer = Optimizer::adam;
    double lr = 1e-3;
    double momentum = 0.9;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double rho = 0.9;
    int64_t batch_size = 32;
    int64_t epochs = 10;
    Decay lr_decay = Decay::none;
    double decay_rate = 0.0;
    int64_t decay_steps = 1;
    bool batch_norm = false;
    double bn_momentum = 0.9;
    double bn_eps = 1e-5;
    double l2 = 0.0;
    int64_t n_outputs = 1;  // classes for cross_entropy, target columns otherwise
    uint64_t seed = 0;
};

// Throw std::invalid_argument when a value is out of range (names the argument).
void validate(const Config& config, int64_t n_features);

// Activation applied to a pre-activation value y.
template <typename T>
inline T activate(Activation act, T y) {
    switch (act) {
        case Activation::relu:
            return y > T(0) ? y : T(0);
        case Activation::leaky_relu:
            return y > T(0) ? y : T(kLeakySlope) * y;
        case Activation::tanh:
            return std::tanh(y);
        case Activation::sigmoid:
            // Two branches so exp never overflows: exp of a non-positive number only.
            if (y >= T(0)) return T(1) / (T(1) + std::exp(-y));
            {
                T e = std::exp(y);
                return e / (T(1) + e);
            }
        case Activation::identity:
        default:
            return y;
    }
}

// Derivative of the activation, written as a function of its output a = act(y); every
// activation here allows it, so the backward pass never needs the pre-activation.
template <typename T>
inline T activation_grad_from_output(Activation act, T a) {
    switch (act) {
        case Activation::relu:
            return a > T(0) ? T(1) : T(0);
        case Activation::leaky_relu:
            return a > T(0) ? T(1) : T(kLeakySlope);
        case Activation::tanh:
            return T(1) - a * a;
        case Activation::sigmoid:
            return a * (T(1) - a);
        case Activation::identity:
        default:
            return T(1);
    }
}

}  // namespace tunecore::mlp
