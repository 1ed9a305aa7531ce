#include "mlp/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/fork_safety.hpp"
#include "mlp/alloc_audit.hpp"
#include "mlp/optim.hpp"
#include "mlp/rng.hpp"

namespace tunecore::mlp {

namespace {

// Streams of the generator: layer l's initial weights use stream l; epoch e's shuffle uses
// kShuffleStream + e.
constexpr uint64_t kShuffleStream = uint64_t(1) << 32;

// Rows evaluated at once in eval mode (validation, predict).
constexpr int64_t kEvalRows = 256;

}  // namespace

void shuffle_rows(std::vector<int64_t>& perm, uint64_t seed, int64_t epoch) {
    const int64_t n = int64_t(perm.size());
    for (int64_t i = 0; i < n; ++i) perm[i] = i;
    for (int64_t i = n - 1; i > 0; --i) {
        const auto j = int64_t(random_below(seed, kShuffleStream + uint64_t(epoch), uint64_t(i),
                                            uint64_t(i + 1)));
        std::swap(perm[i], perm[j]);
    }
}

namespace {

// Copy rows idx[0..rows) (or start..start+rows when idx is null) into the workspace.
void gather(const Data& data, const int64_t* idx, int64_t start, int64_t rows,
            Workspace<float>& ws) {
    const int64_t d = data.d;
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t src = idx ? idx[r] : start + r;
        std::memcpy(ws.input.data() + r * d, data.x + src * d, sizeof(float) * d);
        if (data.labels) ws.labels[r] = data.labels[src];
        if (data.targets) {
            std::memcpy(ws.targets.data() + r * data.target_cols,
                        data.targets + src * data.target_cols, sizeof(float) * data.target_cols);
        }
    }
}

bool finite(const Buffer<float>& v) { return all_finite(v.data(), int64_t(v.size())); }

}  // namespace

namespace {

// The OR of "exponent bits all ones" over v[0..n), for F a float type and U its bit pattern;
// inlined into each instruction-set clone below, so each vectorizes for its own vectors.
template <typename F, typename U>
inline bool exponents_finite(const F* v, int64_t n, U exponent) {
    static_assert(sizeof(F) == sizeof(U), "U must hold the bits of F");
    U bad = 0;
    for (int64_t i = 0; i < n; ++i) {
        U bits;
        std::memcpy(&bits, v + i, sizeof(bits));
        bad |= U((bits & exponent) == exponent);
    }
    return bad == 0;
}

}  // namespace

TUNECORE_CLONES bool all_finite(const float* v, int64_t n) {
    return exponents_finite<float, uint32_t>(v, n, 0x7f800000u);
}

TUNECORE_CLONES bool all_finite(const double* v, int64_t n) {
    return exponents_finite<double, uint64_t>(v, n, 0x7ff0000000000000ull);
}

void check_data(const Config& config, const Data& data, const char* name) {
    const std::string where(name);
    if (data.n < 1) throw std::invalid_argument(where + " must have at least one row");
    if (config.loss == Loss::cross_entropy) {
        if (!data.labels) throw std::invalid_argument(where + ": cross_entropy needs labels");
        for (int64_t i = 0; i < data.n; ++i) {
            if (data.labels[i] < 0 || data.labels[i] >= config.n_outputs) {
                throw std::invalid_argument(where + ": class labels must be integers in [0, " +
                                            std::to_string(config.n_outputs) + "), got " +
                                            std::to_string(data.labels[i]));
            }
        }
    } else {
        if (!data.targets || data.target_cols != config.n_outputs) {
            throw std::invalid_argument(where + ": targets must have " +
                                        std::to_string(config.n_outputs) + " columns");
        }
    }
}

void evaluate(Model<float>& model, const Config& config, const Data& data, Workspace<float>& ws,
              double* loss, double* metric) {
    const int64_t k = config.n_outputs;
    double total = 0.0;
    int64_t correct = 0;
    std::vector<double> ss_res, col_mean, ss_tot;
    if (config.loss == Loss::mse) {
        ss_res.assign(k, 0.0);
        col_mean.assign(k, 0.0);
        ss_tot.assign(k, 0.0);
        for (int64_t i = 0; i < data.n; ++i) {
            for (int64_t j = 0; j < k; ++j) col_mean[j] += data.targets[i * k + j];
        }
        for (int64_t j = 0; j < k; ++j) col_mean[j] /= double(data.n);
        for (int64_t i = 0; i < data.n; ++i) {
            for (int64_t j = 0; j < k; ++j) {
                const double dy = data.targets[i * k + j] - col_mean[j];
                ss_tot[j] += dy * dy;
            }
        }
    }
    for (int64_t start = 0; start < data.n; start += ws.capacity) {
        const int64_t rows = std::min(ws.capacity, data.n - start);
        gather(data, nullptr, start, rows, ws);
        forward(model, config, ws, rows, false);
        total += loss_sum(config, ws, rows, static_cast<float*>(nullptr));
        const float* z = ws.out.back().data();
        for (int64_t i = 0; i < rows; ++i) {
            const float* zi = z + i * k;
            if (config.loss == Loss::cross_entropy) {
                const int64_t best = std::max_element(zi, zi + k) - zi;
                correct += best == ws.labels[i];
            } else if (config.loss == Loss::binary_cross_entropy) {
                for (int64_t j = 0; j < k; ++j) {
                    correct += (zi[j] > 0.0f) == (ws.targets[i * k + j] > 0.5f);
                }
            } else {
                for (int64_t j = 0; j < k; ++j) {
                    const double r = double(zi[j]) - double(ws.targets[i * k + j]);
                    ss_res[j] += r * r;
                }
            }
        }
    }
    *loss = total / double(data.n);
    if (config.loss == Loss::cross_entropy) {
        *metric = double(correct) / double(data.n);
    } else if (config.loss == Loss::binary_cross_entropy) {
        *metric = double(correct) / (double(data.n) * double(k));
    } else {
        // R^2 averaged over outputs; a constant column scores 1 when predicted exactly, else 0
        // (scikit-learn's convention).
        double r2 = 0.0;
        for (int64_t j = 0; j < k; ++j) {
            if (ss_tot[j] > 0.0) {
                r2 += 1.0 - ss_res[j] / ss_tot[j];
            } else {
                r2 += ss_res[j] == 0.0 ? 1.0 : 0.0;
            }
        }
        *metric = r2 / double(k);
    }
}

void predict_logits(Model<float>& model, const Config& config, const float* x, int64_t n,
                    float* out) {
    Workspace<float> ws;
    init_workspace(ws, model.layout, std::min<int64_t>(std::max<int64_t>(n, 1), kEvalRows));
    const int64_t d = model.layout.n_features;
    const int64_t k = model.layout.layers.back().out;
    for (int64_t start = 0; start < n; start += ws.capacity) {
        const int64_t rows = std::min(ws.capacity, n - start);
        std::memcpy(ws.input.data(), x + start * d, sizeof(float) * rows * d);
        forward(model, config, ws, rows, false);
        std::memcpy(out + start * k, ws.out.back().data(), sizeof(float) * rows * k);
    }
}

Result train(const Config& config, const Data& train_data, const Data* val_data,
             StopToken* stop, int threads, Clock::time_point deadline) {
    const auto t0 = std::chrono::steady_clock::now();
    Result result;
    result.model = init_model<float>(config, train_data.d);
    Model<float>& model = result.model;

    const int64_t n = train_data.n;
    const int64_t batch = std::min<int64_t>(config.batch_size, n);
    int64_t capacity = batch;
    if (val_data) capacity = std::max(capacity, std::min(kEvalRows, val_data->n));
    Workspace<float> ws;
    init_workspace(ws, model.layout, capacity, std::max(1, threads));
    ws.stop = stop;
    OptimizerState<float> opt;
    init_optimizer(opt, config, model.layout.n_params);
    std::vector<int64_t> perm(n);
    const bool audit = step_audit_enabled();
    if (audit) result.step_allocations = 0;

    for (int64_t epoch = 0; epoch < config.epochs; ++epoch) {
        if (ws.stopped()) {
            result.status = Status::interrupted;
            break;
        }
        if (deadline != no_deadline() && Clock::now() >= deadline) {
            result.status = Status::stopped;
            break;
        }
        const double lr = scheduled_lr(config, epoch);
        shuffle_rows(perm, config.seed, epoch);
        double total = 0.0;
        bool diverged = false;
        bool interrupted = false;
        for (int64_t start = 0; start < n; start += batch) {
            if (ws.stopped()) {
                interrupted = true;
                break;
            }
            const int64_t rows = std::min(batch, n - start);
            if (audit) audit_begin();
            gather(train_data, perm.data() + start, 0, rows, ws);
            forward(model, config, ws, rows, true);
            if (ws.stopped()) {
                interrupted = true;
                break;
            }
            const double loss = loss_sum(config, ws, rows, ws.delta_a.data());
            if (!std::isfinite(loss)) {
                if (audit) result.step_allocations += audit_end();
                diverged = true;
                break;
            }
            total += loss;
            backward(model, config, ws, rows);
            if (ws.stopped()) {
                interrupted = true;
                break;
            }
            optimizer_step(config, lr, model.params.data(), ws.grad.data(), model.layout.n_params,
                           opt);
            if (audit) result.step_allocations += audit_end();
        }
        if (audit) audit_end();  // a step left early (interrupted) still stops counting
        if (interrupted) {
            result.status = Status::interrupted;
            break;
        }
        const double nan = std::nan("");
        result.epochs_run = epoch + 1;
        result.train_loss.push_back(diverged ? nan : total / double(n));
        diverged = diverged || !finite(model.params) || !finite(model.running);
        if (val_data) {
            double vl = nan, vm = nan;
            if (!diverged) {
                evaluate(model, config, *val_data, ws, &vl, &vm);
                if (ws.stopped()) {
                    result.status = Status::interrupted;
                    break;
                }
                diverged = !std::isfinite(vl);
            }
            result.val_loss.push_back(vl);
            result.val_metric.push_back(vm);
        }
        if (diverged) {
            result.status = Status::diverged;
            result.diverged_epoch = epoch + 1;
            break;
        }
    }
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

namespace {

// Rough cost of a trial, for the order in which threads take trials: multiply-adds of the
// forward and backward passes (about 3 per weight and row) plus an optimizer pass over every
// parameter per step, over all epochs.
double expected_cost(const Config& config, const Data& data) {
    double weights = 0.0;
    double params = 0.0;
    int64_t in = data.d;
    for (size_t l = 0; l <= config.hidden.size(); ++l) {
        const int64_t out = l < config.hidden.size() ? config.hidden[l] : config.n_outputs;
        weights += double(in) * double(out);
        params += double(in + 1) * double(out);
        in = out;
    }
    const double batch = double(std::max<int64_t>(1, std::min(config.batch_size, data.n)));
    const double steps = std::ceil(double(data.n) / batch);
    return double(config.epochs) * (3.0 * weights * double(data.n) + 8.0 * params * steps);
}

}  // namespace

std::vector<Result> train_many(const std::vector<Config>& configs, const Data& train_data,
                               const Data* val_data, int threads, StopToken* stop,
                               Clock::time_point deadline) {
    // An int index: MSVC's OpenMP 2.0 wants a plain signed loop variable.
    const int count = int(configs.size());
    std::vector<Result> results(count);
    threads = std::max(1, threads);
    if (threads > 1 && !parallel_regions_safe()) threads = 1;  // a forked child: see there
    // Largest trials first, handed out one at a time: the last trials to start are the short
    // ones, so threads finish together (longest-processing-time-first). Each result goes to its
    // own slot and depends only on its configuration, so the order changes no result.
    std::vector<int> order(count);
    std::vector<double> cost(count);
    for (int i = 0; i < count; ++i) {
        order[i] = i;
        cost[i] = expected_cost(configs[i], train_data);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return cost[a] > cost[b]; });
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int pos = 0; pos < count; ++pos) {
        const int i = order[pos];
        // Exceptions must not leave an OpenMP region: a failing trial (out of memory) is
        // recorded in its own result and disturbs no other.
        try {
            results[i] = train(configs[i], train_data, val_data, stop, 1, deadline);
        } catch (const std::exception& e) {
            results[i].status = Status::failed;
            results[i].error = e.what();
        } catch (...) {
            results[i].status = Status::failed;
            results[i].error = "unknown error";
        }
    }
    return results;
}

}  // namespace tunecore::mlp
