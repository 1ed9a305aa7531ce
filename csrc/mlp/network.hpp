// The network: parameter layout, initialization, forward and backward passes, losses and batch
// normalization, for float32 (training) and float64 (gradient checks in the tests).
//
// Layer l maps a_{l-1} (rows x in) to a_l (rows x out):
//   plain:      a_l = act(a_{l-1} W_l + b_l)
//   batch norm: z = a_{l-1} W_l (no bias: beta takes its place), zhat = (z - mu) / sqrt(var + eps),
//               a_l = act(gamma * zhat + beta)
// The last layer is plain with the identity: it returns logits (or predictions for mse).
// Train-mode batch norm uses the batch mean and the biased batch variance (divide by rows);
// the running variance is updated with the unbiased one (rows / (rows - 1) times it; the biased
// one when rows == 1), as PyTorch does:
//   running_mean = m * running_mean + (1 - m) * mu,  running_var = m * running_var + (1 - m) * s2
// with m = bn_momentum (0.9 by default; PyTorch's momentum is 1 - m). Eval mode uses the
// running statistics.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "mlp/buffer.hpp"
#include "mlp/gemm.hpp"
#include "mlp/stop.hpp"
#include "mlp/types.hpp"

namespace tunecore::mlp {

// Where one layer's tensors live in the flat parameter vector (offsets; -1 when absent).
struct LayerLayout {
    int64_t in = 0;
    int64_t out = 0;
    int64_t w = -1;        // in x out, row-major
    int64_t b = -1;        // out (plain layers)
    int64_t gamma = -1;    // out (batch-norm layers)
    int64_t beta = -1;     // out (batch-norm layers)
    int64_t running = -1;  // offset of running mean (out) then running var (out) in `running`
    Activation act = Activation::identity;
};

struct Layout {
    std::vector<LayerLayout> layers;
    int64_t n_features = 0;
    int64_t n_params = 0;
    int64_t n_running = 0;
    int64_t max_width = 0;  // widest layer output (the n of every product)
};

Layout make_layout(const Config& config, int64_t n_features);

// Every trainable number in one vector (so an optimizer step is one loop), running statistics
// in another.
template <typename T>
struct Model {
    Layout layout;
    Buffer<T> params;
    Buffer<T> running;
};

// Weights uniform in [-a, a] with a = sqrt(6 / fan_in) (He; relu, leaky_relu) or
// sqrt(6 / (fan_in + fan_out)) (Xavier; tanh, sigmoid, identity, and the output layer), from
// the counter-based generator (stream = layer index, counter = weight index); biases and beta
// 0, gamma 1, running mean 0, running variance 1.
template <typename T>
Model<T> init_model(const Config& config, int64_t n_features);

// Scratch of one trial, allocated once for batches of up to `capacity` rows.
template <typename T>
struct Workspace {
    int64_t capacity = 0;
    Buffer<T> input;                     // capacity x n_features
    std::vector<Buffer<T>> out;          // per layer: capacity x out (activations; logits last)
    std::vector<Buffer<T>> zhat;         // per batch-norm layer: capacity x out
    std::vector<Buffer<T>> stats;        // per batch-norm layer: mean, inv_std, scale, shift, sums
    Buffer<T> delta_a;                   // capacity x max_width
    Buffer<T> delta_b;                   // capacity x max_width
    Buffer<T> grad;                      // n_params
    std::vector<int32_t> labels;         // capacity
    Buffer<T> targets;                   // capacity x n_outputs
    GemmBuffer gemm;                     // packing areas of the float kernels (empty for double)
    // When set and requested, forward and backward return between layers (the step is
    // abandoned); keeps Ctrl-C prompt inside long batches.
    StopToken* stop = nullptr;

    bool stopped() const { return stop != nullptr && stop->requested(); }
};

// `threads`: OpenMP threads each large matrix product may use (a packing area each).
template <typename T>
void init_workspace(Workspace<T>& ws, const Layout& layout, int64_t capacity, int threads = 1);

// Forward pass of ws.input (rows x n_features) into ws.out. Train mode uses batch statistics
// and updates the running ones in model.running; eval mode reads them.
template <typename T>
void forward(Model<T>& model, const Config& config, Workspace<T>& ws, int64_t rows, bool train);

// Loss of the logits ws.out.back() against ws.labels / ws.targets: returns the SUM over rows
// of the per-row loss (mean over outputs for binary_cross_entropy and mse); when delta is not
// null, writes d(mean over rows of the loss) / d(logits) there (rows x n_outputs).
template <typename T>
double loss_sum(const Config& config, const Workspace<T>& ws, int64_t rows, T* delta);

// Backward pass after a train-mode forward: ws.grad is OVERWRITTEN with the gradient of the
// mean batch loss plus (l2 / 2) * sum of squared weights (biases, gamma, beta not decayed).
// Expects the output delta in ws.delta_a.
template <typename T>
void backward(const Model<T>& model, const Config& config, Workspace<T>& ws, int64_t rows);

}  // namespace tunecore::mlp
