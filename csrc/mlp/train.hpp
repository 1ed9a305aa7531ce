// Training loops: one trial (train) and many trials sharing one copy of the data (train_many).
//
// An epoch draws a permutation of the rows from (seed, epoch) (Fisher-Yates with the
// counter-based generator), walks it in batches of batch_size rows (the last, shorter batch is
// used), and takes one optimizer step per batch. The reported train loss of an epoch is the mean
// over its rows of the per-row loss, measured during the epoch (before each step), without the
// L2 term. A non-finite batch loss, parameter or validation loss stops the trial as diverged.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "mlp/network.hpp"
#include "mlp/stop.hpp"
#include "mlp/types.hpp"

namespace tunecore::mlp {

// Read-only data, shared between trials. Float32, row-major (C order).
struct Data {
    const float* x = nullptr;         // n x d
    int64_t n = 0;
    int64_t d = 0;
    const int32_t* labels = nullptr;  // n class labels (cross_entropy)
    const float* targets = nullptr;   // n x target_cols (binary_cross_entropy, mse)
    int64_t target_cols = 0;
};

// stopped: the deadline passed at an epoch boundary (epochs_run < epochs, possibly 0).
enum class Status { ok, diverged, interrupted, failed, stopped };

using Clock = std::chrono::steady_clock;
// No deadline.
inline Clock::time_point no_deadline() { return Clock::time_point::max(); }

struct Result {
    Status status = Status::ok;
    int64_t diverged_epoch = 0;  // 1-based epoch of the divergence, 0 when none
    int64_t epochs_run = 0;      // entries in the history (a diverged epoch counts)
    std::vector<double> train_loss;
    std::vector<double> val_loss;
    std::vector<double> val_metric;  // accuracy (classification) or R^2 (mse)
    double seconds = 0.0;
    Model<float> model;
    std::string error;  // what went wrong when status is failed
    // Heap allocations made inside the training steps, counted only while the step audit is
    // enabled (alloc_audit.hpp); -1 otherwise.
    int64_t step_allocations = -1;
};

// Row order of epoch `epoch`: perm (its size is the row count) becomes a permutation drawn by
// Fisher-Yates from stream kShuffleStream + epoch of the generator under `seed`.
void shuffle_rows(std::vector<int64_t>& perm, uint64_t seed, int64_t epoch);

// Throw std::invalid_argument when the data does not fit the configuration.
void check_data(const Config& config, const Data& data, const char* name);

// No NaN or inf among v[0..n): a float is finite unless its exponent bits are all ones. The
// OR of the per-element tests is an integer reduction that vectorizes (memory-bound on large
// arrays, where a float sum would run one dependent add per element).
bool all_finite(const float* v, int64_t n);
bool all_finite(const double* v, int64_t n);

// Train one configuration. `stop` (may be null) is polled between mini-batches and layers;
// when it turns true the trial returns early with status interrupted. `threads` OpenMP threads
// share each large matrix product (the result is bitwise the same for any count).
// No epoch starts after `deadline`.
Result train(const Config& config, const Data& train_data, const Data* val_data,
             StopToken* stop, int threads = 1,
             Clock::time_point deadline = no_deadline());

// Train every configuration, one trial per OpenMP thread (dynamic schedule). Each result is
// bitwise the one train() gives alone: trials share nothing writable.
std::vector<Result> train_many(const std::vector<Config>& configs, const Data& train_data,
                               const Data* val_data, int threads, StopToken* stop,
                               Clock::time_point deadline = no_deadline());

// Metrics of a model on data (eval mode): mean loss and accuracy or R^2.
void evaluate(Model<float>& model, const Config& config, const Data& data, Workspace<float>& ws,
              double* loss, double* metric);

// Logits (n x n_outputs, row-major) of x (n x d) in eval mode.
void predict_logits(Model<float>& model, const Config& config, const float* x, int64_t n,
                    float* out);

}  // namespace tunecore::mlp
