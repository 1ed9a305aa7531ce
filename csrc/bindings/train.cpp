// tunecore._core's training functions: convert and check with the GIL held, train with it
// released, hand back NumPy arrays. Ctrl-C stops a training within about 0.1 s and raises
// KeyboardInterrupt (see run_interruptible below).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef _WIN32
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#endif

#include "bindings/bindings.hpp"
#include "mlp/alloc_audit.hpp"
#include "mlp/gemm.hpp"
#include "mlp/network.hpp"
#include "mlp/optim.hpp"
#include "mlp/stop.hpp"
#include "mlp/train.hpp"

namespace py = pybind11;

namespace tunecore::bindings {

namespace {

using namespace tunecore::mlp;

template <typename T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

// ---------------------------------------------------------------------------------------------
// Conversions

template <typename V>
V get(const py::dict& d, const char* key) {
    if (!d.contains(key)) throw std::invalid_argument(std::string("config lacks '") + key + "'");
    return d[key].cast<V>();
}

Config config_from_dict(const py::dict& d) {
    Config c;
    c.hidden = get<std::vector<int>>(d, "hidden");
    c.activation = parse_activation(get<std::string>(d, "activation"));
    c.loss = parse_loss(get<std::string>(d, "loss"));
    c.optimizer = parse_optimizer(get<std::string>(d, "optimizer"));
    c.lr = get<double>(d, "lr");
    c.momentum = get<double>(d, "momentum");
    c.beta1 = get<double>(d, "beta1");
    c.beta2 = get<double>(d, "beta2");
    c.eps = get<double>(d, "eps");
    c.rho = get<double>(d, "rho");
    c.batch_size = get<int64_t>(d, "batch_size");
    c.epochs = get<int64_t>(d, "epochs");
    c.lr_decay = parse_decay(get<std::string>(d, "lr_decay"));
    c.decay_rate = get<double>(d, "decay_rate");
    c.decay_steps = get<int64_t>(d, "decay_steps");
    c.batch_norm = get<bool>(d, "batch_norm");
    c.bn_momentum = get<double>(d, "bn_momentum");
    c.bn_eps = get<double>(d, "bn_eps");
    c.l2 = get<double>(d, "l2");
    c.n_outputs = get<int64_t>(d, "n_outputs");
    c.seed = get<uint64_t>(d, "seed");
    return c;
}

template <typename T>
py::array_t<T> to_array(const T* data, std::vector<py::ssize_t> shape) {
    py::array_t<T> out(shape);
    if (out.size() > 0) std::memcpy(out.mutable_data(), data, sizeof(T) * out.size());
    return out;
}

// Model (or a gradient laid out like its parameters) as lists of arrays per layer.
template <typename T>
py::dict params_to_dict(const Layout& layout, const T* params, const T* running) {
    py::list weights, biases, gamma, beta, rmean, rvar;
    for (const LayerLayout& layer : layout.layers) {
        weights.append(to_array(params + layer.w, {layer.in, layer.out}));
        if (layer.b >= 0) {
            biases.append(to_array(params + layer.b, {layer.out}));
        } else {
            biases.append(py::none());
        }
        if (layer.gamma >= 0) {
            gamma.append(to_array(params + layer.gamma, {layer.out}));
            beta.append(to_array(params + layer.beta, {layer.out}));
            if (running != nullptr) {
                rmean.append(to_array(running + layer.running, {layer.out}));
                rvar.append(to_array(running + layer.running + layer.out, {layer.out}));
            } else {
                rmean.append(py::none());
                rvar.append(py::none());
            }
        } else {
            gamma.append(py::none());
            beta.append(py::none());
            rmean.append(py::none());
            rvar.append(py::none());
        }
    }
    py::dict d;
    d["weights"] = weights;
    d["biases"] = biases;
    d["gamma"] = gamma;
    d["beta"] = beta;
    d["running_mean"] = rmean;
    d["running_var"] = rvar;
    return d;
}

template <typename T>
void copy_entry(const py::dict& d, const char* key, size_t l, T* dst, int64_t rows,
                int64_t cols) {
    py::list entries = d[key].cast<py::list>();
    if (l >= entries.size()) throw std::invalid_argument(std::string(key) + " has too few layers");
    auto a = entries[l].cast<CArray<T>>();
    const bool matrix = cols > 0;
    if ((matrix && (a.ndim() != 2 || a.shape(0) != rows || a.shape(1) != cols)) ||
        (!matrix && (a.ndim() != 1 || a.shape(0) != rows))) {
        throw std::invalid_argument(std::string(key) + "[" + std::to_string(l) +
                                    "] has the wrong shape for this network");
    }
    std::memcpy(dst, a.data(), sizeof(T) * a.size());
}

template <typename T>
Model<T> model_from_dict(const Config& config, int64_t n_features, const py::dict& d) {
    Model<T> model = init_model<T>(config, n_features);
    for (size_t l = 0; l < model.layout.layers.size(); ++l) {
        const LayerLayout& layer = model.layout.layers[l];
        copy_entry(d, "weights", l, model.params.data() + layer.w, layer.in, layer.out);
        if (layer.b >= 0) copy_entry(d, "biases", l, model.params.data() + layer.b, layer.out, 0);
        if (layer.gamma >= 0) {
            copy_entry(d, "gamma", l, model.params.data() + layer.gamma, layer.out, 0);
            copy_entry(d, "beta", l, model.params.data() + layer.beta, layer.out, 0);
            copy_entry(d, "running_mean", l, model.running.data() + layer.running, layer.out, 0);
            copy_entry(d, "running_var", l, model.running.data() + layer.running + layer.out,
                       layer.out, 0);
        }
    }
    return model;
}

// The arrays behind one Data, kept alive by the caller's frame.
struct DataArrays {
    CArray<float> x;
    std::optional<CArray<int32_t>> labels;
    std::optional<CArray<float>> targets;
    Data data;
};

DataArrays make_data(const py::object& x, const py::object& labels, const py::object& targets,
                     const char* name) {
    DataArrays out{x.cast<CArray<float>>(), std::nullopt, std::nullopt, Data{}};
    if (out.x.ndim() != 2) throw std::invalid_argument(std::string(name) + " must be 2-D");
    out.data.x = out.x.data();
    out.data.n = out.x.shape(0);
    out.data.d = out.x.shape(1);
    if (!labels.is_none()) {
        out.labels = labels.cast<CArray<int32_t>>();
        if (out.labels->ndim() != 1 || out.labels->shape(0) != out.data.n) {
            throw std::invalid_argument(std::string(name) +
                                        ": labels must be 1-D with one entry per row");
        }
        out.data.labels = out.labels->data();
    }
    if (!targets.is_none()) {
        out.targets = targets.cast<CArray<float>>();
        if (out.targets->ndim() != 2 || out.targets->shape(0) != out.data.n) {
            throw std::invalid_argument(std::string(name) +
                                        ": targets must be 2-D with one row per row of X");
        }
        out.data.targets = out.targets->data();
        out.data.target_cols = out.targets->shape(1);
    }
    return out;
}

const char* status_name(Status s) {
    switch (s) {
        case Status::ok:
            return "ok";
        case Status::diverged:
            return "diverged";
        case Status::interrupted:
            return "interrupted";
        case Status::stopped:
            return "stopped";
        case Status::failed:
        default:
            return "failed";
    }
}

py::dict result_to_dict(const Result& r) {
    py::dict d;
    d["status"] = status_name(r.status);
    d["diverged_epoch"] = r.diverged_epoch;
    d["epochs_run"] = r.epochs_run;
    d["train_loss"] = to_array(r.train_loss.data(), {py::ssize_t(r.train_loss.size())});
    d["val_loss"] = to_array(r.val_loss.data(), {py::ssize_t(r.val_loss.size())});
    d["val_metric"] = to_array(r.val_metric.data(), {py::ssize_t(r.val_metric.size())});
    d["step_allocations"] = r.step_allocations;
    d["seconds"] = r.seconds;
    d["error"] = r.error;
    if (r.status != Status::failed) {
        d["params"] = params_to_dict(r.model.layout, r.model.params.data(),
                                     r.model.running.data());
    } else {
        d["params"] = py::none();
    }
    return d;
}

// ---------------------------------------------------------------------------------------------
// Ctrl-C. Python runs signal handlers only in the main thread, between bytecodes; a training
// that holds no GIL for seconds must notice SIGINT itself and come back so the handler can run.

// Fallback (Windows, or no pipe): work(stop) runs on a worker thread with the GIL released,
// while the calling thread wakes every 20 ms to run PyErr_CheckSignals; on a signal it raises
// the stop flag, joins the worker and raises KeyboardInterrupt (or what the handler raised).
template <typename Work>
void run_on_worker(Work&& work) {
    StopToken stop;
    std::exception_ptr error;
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    bool signalled = false;
    {
        py::gil_scoped_release release;
        std::thread worker([&] {
            try {
                work(stop);
            } catch (...) {
                error = std::current_exception();
            }
            {
                std::lock_guard<std::mutex> lock(mutex);
                done = true;
            }
            cv.notify_all();
        });
        for (;;) {
            {
                std::unique_lock<std::mutex> lock(mutex);
                if (cv.wait_for(lock, std::chrono::milliseconds(20), [&] { return done; })) break;
            }
            py::gil_scoped_acquire acquire;
            if (PyErr_CheckSignals() != 0) {
                signalled = true;
                stop.request();
                break;
            }
        }
        worker.join();
    }
    if (signalled) throw py::error_already_set();
    if (error) std::rethrow_exception(error);
}

#ifndef _WIN32
// Main thread on POSIX: the training runs right here (no thread handoff, which on a busy
// machine costs a scheduler wait of milliseconds per call). For its duration Python's signal
// wakeup fd points at a pipe of ours: Python's C-level handler writes the signal number there,
// and the trainers poll the pipe every few milliseconds through the StopToken. Afterwards the
// previous wakeup fd comes back and gets the bytes we read, so asyncio and friends miss none.
struct SignalPipe {
    int fds[2] = {-1, -1};
    std::mutex mutex;
    std::string seen;  // every byte read, in order
    bool sigint = false;

    ~SignalPipe() {
        for (int fd : fds) {
            if (fd >= 0) close(fd);
        }
    }
};

bool poll_signal_pipe(void* context) {
    auto* pipe_state = static_cast<SignalPipe*>(context);
    std::lock_guard<std::mutex> lock(pipe_state->mutex);
    char buffer[64];
    for (;;) {
        const ssize_t got = read(pipe_state->fds[0], buffer, sizeof(buffer));
        if (got <= 0) break;
        pipe_state->seen.append(buffer, size_t(got));
        for (ssize_t i = 0; i < got; ++i) {
            if (static_cast<unsigned char>(buffer[i]) == SIGINT) pipe_state->sigint = true;
        }
    }
    return pipe_state->sigint;
}

bool open_nonblocking_pipe(int fds[2]) {
    if (pipe(fds) != 0) return false;
    for (int i = 0; i < 2; ++i) {
        const int flags = fcntl(fds[i], F_GETFL);
        if (flags < 0 || fcntl(fds[i], F_SETFL, flags | O_NONBLOCK) != 0 ||
            fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0) {
            return false;
        }
    }
    return true;
}

bool on_main_thread() {
    py::module_ threading = py::module_::import("threading");
    const py::object main_ident = threading.attr("main_thread")().attr("ident");
    const py::object ident = threading.attr("get_ident")();
    return main_ident.equal(ident);
}

// Returns false (having done nothing) when the pipe cannot be set up.
template <typename Work>
bool run_with_wakeup_fd(Work&& work) {
    SignalPipe state;
    if (!open_nonblocking_pipe(state.fds)) return false;
    // signal.set_wakeup_fd (its C twin is not exported); main thread only, as checked.
    const py::object set_wakeup_fd = py::module_::import("signal").attr("set_wakeup_fd");
    int previous = -1;
    try {
        previous = set_wakeup_fd(state.fds[1]).cast<int>();
    } catch (const py::error_already_set&) {
        return false;
    }
    StopToken stop(&poll_signal_pipe, &state);
    std::exception_ptr error;
    {
        py::gil_scoped_release release;
        try {
            work(stop);
        } catch (...) {
            error = std::current_exception();
        }
    }
    set_wakeup_fd(previous);
    poll_signal_pipe(&state);
    if (previous >= 0 && !state.seen.empty()) {
        // Best effort, like Python's own handler: a full pipe drops bytes.
        const ssize_t ignored = write(previous, state.seen.data(), state.seen.size());
        (void)ignored;
    }
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (state.sigint && stop.requested()) {
        // The SIGINT handler ran without raising, but the training was already cut short:
        // never hand back a partial result as if it were whole.
        PyErr_SetNone(PyExc_KeyboardInterrupt);
        throw py::error_already_set();
    }
    if (error) std::rethrow_exception(error);
    return true;
}
#endif

// Run work(stop) with the GIL released, so that Ctrl-C stops it within about 0.1 s and raises
// KeyboardInterrupt. Off the main thread Python delivers no KeyboardInterrupt, so the work
// just runs.
template <typename Work>
void run_interruptible(Work&& work) {
#ifndef _WIN32
    if (on_main_thread()) {
        if (run_with_wakeup_fd(work)) return;
    } else {
        StopToken stop;
        py::gil_scoped_release release;
        work(stop);
        return;
    }
#endif
    run_on_worker(work);
}

int default_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

// ---------------------------------------------------------------------------------------------
// Functions exposed to Python

py::dict py_train(const py::object& x, const py::object& labels, const py::object& targets,
                  const py::dict& config_dict, const py::object& x_val,
                  const py::object& labels_val, const py::object& targets_val, int threads) {
    const Config config = config_from_dict(config_dict);
    DataArrays train_arrays = make_data(x, labels, targets, "X");
    validate(config, train_arrays.data.d);
    check_data(config, train_arrays.data, "X");
    std::optional<DataArrays> val_arrays;
    if (!x_val.is_none()) {
        val_arrays = make_data(x_val, labels_val, targets_val, "X_val");
        if (val_arrays->data.d != train_arrays.data.d) {
            throw std::invalid_argument("X_val must have as many columns as X");
        }
        check_data(config, val_arrays->data, "X_val");
    }
    const Data* val = val_arrays ? &val_arrays->data : nullptr;
    Result result;
    run_interruptible([&](StopToken& stop) {
        result = mlp::train(config, train_arrays.data, val, &stop, threads);
    });
    return result_to_dict(result);
}

py::list py_train_many(const py::object& x, const py::object& labels, const py::object& targets,
                       const py::list& config_dicts, const py::object& x_val,
                       const py::object& labels_val, const py::object& targets_val, int threads,
                       std::optional<double> seconds_left) {
    std::vector<Config> configs;
    DataArrays train_arrays = make_data(x, labels, targets, "X");
    std::optional<DataArrays> val_arrays;
    if (!x_val.is_none()) {
        val_arrays = make_data(x_val, labels_val, targets_val, "X_val");
        if (val_arrays->data.d != train_arrays.data.d) {
            throw std::invalid_argument("X_val must have as many columns as X");
        }
    }
    for (size_t i = 0; i < config_dicts.size(); ++i) {
        try {
            configs.push_back(config_from_dict(config_dicts[i].cast<py::dict>()));
            validate(configs.back(), train_arrays.data.d);
            check_data(configs.back(), train_arrays.data, "X");
            if (val_arrays) check_data(configs.back(), val_arrays->data, "X_val");
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("configs[" + std::to_string(i) + "]: " + e.what());
        }
    }
    const Data* val = val_arrays ? &val_arrays->data : nullptr;
    Clock::time_point deadline = no_deadline();
    if (seconds_left) {
        const double s = std::max(0.0, std::min(*seconds_left, 1e9));
        deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(s));
    }
    std::vector<Result> results;
    run_interruptible([&](StopToken& stop) {
        results = mlp::train_many(configs, train_arrays.data, val, threads, &stop, deadline);
    });
    py::list out;
    for (Result& r : results) {
        out.append(result_to_dict(r));
        // Free each model once copied, so the weights exist twice for one trial at a time,
        // not for all of them.
        r = Result();
    }
    return out;
}

py::array_t<float> py_predict_logits(const py::dict& config_dict, const py::dict& params,
                                     const py::object& x) {
    const Config config = config_from_dict(config_dict);
    auto xa = x.cast<CArray<float>>();
    if (xa.ndim() != 2) throw std::invalid_argument("X must be 2-D");
    Model<float> model = model_from_dict<float>(config, xa.shape(1), params);
    const int64_t n = xa.shape(0);
    py::array_t<float> out({py::ssize_t(n), py::ssize_t(config.n_outputs)});
    float* dst = out.mutable_data();
    const float* src = xa.data();
    {
        py::gil_scoped_release release;
        predict_logits(model, config, src, n, dst);
    }
    return out;
}

py::dict py_init_params(const py::dict& config_dict, int64_t n_features) {
    const Config config = config_from_dict(config_dict);
    validate(config, n_features);
    Model<float> model = init_model<float>(config, n_features);
    return params_to_dict(model.layout, model.params.data(), model.running.data());
}

// Mean batch loss and its gradient (train mode) in float32 or float64, for the tests.
template <typename T>
py::tuple loss_and_grad(const py::dict& config_dict, const py::dict& params, const py::object& x,
                        const py::object& labels, const py::object& targets) {
    const Config config = config_from_dict(config_dict);
    auto xa = x.cast<CArray<T>>();
    if (xa.ndim() != 2 || xa.shape(0) < 1) throw std::invalid_argument("X must be 2-D, non-empty");
    const int64_t rows = xa.shape(0);
    const int64_t d = xa.shape(1);
    validate(config, d);
    Model<T> model = model_from_dict<T>(config, d, params);
    Workspace<T> ws;
    init_workspace(ws, model.layout, rows);
    std::memcpy(ws.input.data(), xa.data(), sizeof(T) * rows * d);
    if (config.loss == Loss::cross_entropy) {
        auto la = labels.cast<CArray<int32_t>>();
        if (la.ndim() != 1 || la.shape(0) != rows) throw std::invalid_argument("labels shape");
        for (int64_t i = 0; i < rows; ++i) {
            if (la.data()[i] < 0 || la.data()[i] >= config.n_outputs) {
                throw std::invalid_argument("labels out of range");
            }
            ws.labels[i] = la.data()[i];
        }
    } else {
        auto ta = targets.cast<CArray<T>>();
        if (ta.ndim() != 2 || ta.shape(0) != rows || ta.shape(1) != config.n_outputs) {
            throw std::invalid_argument("targets shape");
        }
        std::memcpy(ws.targets.data(), ta.data(), sizeof(T) * ta.size());
    }
    forward(model, config, ws, rows, true);
    const double loss = loss_sum(config, ws, rows, ws.delta_a.data()) / double(rows);
    backward(model, config, ws, rows);
    // The reported loss includes the L2 term whose gradient backward adds.
    double penalty = 0.0;
    for (const LayerLayout& layer : model.layout.layers) {
        for (int64_t i = 0; i < layer.in * layer.out; ++i) {
            const double w = double(model.params[layer.w + i]);
            penalty += w * w;
        }
    }
    return py::make_tuple(loss + 0.5 * config.l2 * penalty,
                          params_to_dict<T>(model.layout, ws.grad.data(), nullptr),
                          params_to_dict<T>(model.layout, model.params.data(),
                                            model.running.data()));
}

py::tuple py_optimizer_step(const py::dict& config_dict, double lr, CArray<float> params,
                            CArray<float> grad, CArray<float> m, CArray<float> v, int64_t step) {
    const Config config = config_from_dict(config_dict);
    const int64_t n = params.size();
    if (grad.size() != n) throw std::invalid_argument("grad must match params");
    OptimizerState<float> state;
    init_optimizer(state, config, n);
    if (!state.m.empty()) {
        if (m.size() != n) throw std::invalid_argument("m must match params");
        std::memcpy(state.m.data(), m.data(), sizeof(float) * n);
    }
    if (!state.v.empty()) {
        if (v.size() != n) throw std::invalid_argument("v must match params");
        std::memcpy(state.v.data(), v.data(), sizeof(float) * n);
    }
    state.step = step;
    std::vector<float> p(params.data(), params.data() + n);
    optimizer_step(config, lr, p.data(), grad.data(), n, state);
    auto opt_or_none = [&](const Buffer<float>& s) -> py::object {
        if (s.empty()) return py::none();
        return to_array(s.data(), {py::ssize_t(n)});
    };
    return py::make_tuple(to_array(p.data(), {py::ssize_t(n)}), opt_or_none(state.m),
                          opt_or_none(state.v));
}

py::array_t<float> py_gemm(CArray<float> a, CArray<float> b, bool trans_a, bool trans_b,
                           bool reference, const std::string& kernel, int threads) {
    if (a.ndim() != 2 || b.ndim() != 2) throw std::invalid_argument("a and b must be 2-D");
    const int64_t m = trans_a ? a.shape(1) : a.shape(0);
    const int64_t k = trans_a ? a.shape(0) : a.shape(1);
    const int64_t kb = trans_b ? b.shape(1) : b.shape(0);
    const int64_t n = trans_b ? b.shape(0) : b.shape(1);
    if (k != kb) throw std::invalid_argument("inner dimensions differ");
    const ConstView<float> av{a.data(), trans_a ? 1 : a.shape(1), trans_a ? a.shape(1) : 1};
    const ConstView<float> bv{b.data(), trans_b ? 1 : b.shape(1), trans_b ? b.shape(1) : 1};
    py::array_t<float> c({py::ssize_t(m), py::ssize_t(n)});
    if (reference) {
        gemm_reference<float>(m, n, k, av, bv, c.mutable_data(), n, false, Epilogue<float>{});
        return c;
    }
    const std::string previous = gemm_kernel_name();
    if (!kernel.empty() && !set_gemm_kernel(kernel.c_str())) {
        throw std::invalid_argument("kernel '" + kernel + "' is not available on this CPU");
    }
    GemmBuffer buffer;
    buffer.init(n, threads);
    gemm(m, n, k, av, bv, c.mutable_data(), n, false, Epilogue<float>{}, buffer.scratch);
    set_gemm_kernel(previous.c_str());
    return c;
}

std::vector<std::string> py_gemm_kernels() {
    const char* names[8];
    const int count = available_gemm_kernels(names, 8);
    return std::vector<std::string>(names, names + count);
}

}  // namespace

void bind_train(py::module_& m) {
    m.def("train", &py_train, py::arg("X"), py::arg("labels"), py::arg("targets"),
          py::arg("config"), py::arg("X_val"), py::arg("labels_val"), py::arg("targets_val"),
          py::arg("threads") = 1, "Train one MLP; inputs already checked by tunecore.training.");
    m.def("train_many", &py_train_many, py::arg("X"), py::arg("labels"), py::arg("targets"),
          py::arg("configs"), py::arg("X_val"), py::arg("labels_val"), py::arg("targets_val"),
          py::arg("threads"), py::arg("seconds_left") = py::none(),
          "Train several MLPs, one per thread; no epoch starts after seconds_left.");
    m.def("predict_logits", &py_predict_logits, py::arg("config"), py::arg("params"),
          py::arg("X"), "Eval-mode network outputs (logits) of X.");
    m.def("default_threads", &default_threads, "OpenMP's default thread count.");
    m.def("gemm_kernel", [] { return std::string(gemm_kernel_name()); },
          "The matrix micro-kernel in use.");
    m.def("_gemm_kernels", &py_gemm_kernels, "Micro-kernels this CPU can run, best first.");
    m.def("_init_params", &py_init_params, py::arg("config"), py::arg("n_features"));
    m.def("_loss_grad32", &loss_and_grad<float>, py::arg("config"), py::arg("params"),
          py::arg("X"), py::arg("labels"), py::arg("targets"));
    m.def("_loss_grad64", &loss_and_grad<double>, py::arg("config"), py::arg("params"),
          py::arg("X"), py::arg("labels"), py::arg("targets"));
    m.def("_optimizer_step", &py_optimizer_step, py::arg("config"), py::arg("lr"),
          py::arg("params"), py::arg("grad"), py::arg("m"), py::arg("v"), py::arg("step"));
    m.def("_scheduled_lr",
          [](const py::dict& config, int64_t epoch) {
              return scheduled_lr(config_from_dict(config), epoch);
          },
          py::arg("config"), py::arg("epoch"));
    m.def("_set_gemm_kernel",
          [](const std::string& name) {
              if (!set_gemm_kernel(name.c_str())) {
                  throw std::invalid_argument("kernel '" + name + "' is not available on this CPU");
              }
          },
          py::arg("name"), "Force a micro-kernel (tests only; not thread-safe).");
    m.def("_permutation",
          [](uint64_t seed, int64_t epoch, int64_t n) {
              std::vector<int64_t> perm(n);
              shuffle_rows(perm, seed, epoch);
              return to_array(perm.data(), {py::ssize_t(n)});
          },
          py::arg("seed"), py::arg("epoch"), py::arg("n"), "Row order of an epoch.");
    m.def("_set_step_audit",
          [](bool enabled) {
              if (enabled && !mlp::audit_available()) return false;
              mlp::set_step_audit(enabled);
              return true;
          },
          py::arg("enabled"),
          "Count heap allocations inside training steps (tests only); False where this build "
          "cannot count.");
    m.def("_all_finite",
          [](const py::array& a) {
              if (!(a.flags() & py::array::c_style)) {
                  throw py::type_error("_all_finite needs a C-contiguous array");
              }
              const auto n = int64_t(a.size());
              if (py::isinstance<py::array_t<float>>(a)) {
                  const auto* p = static_cast<const float*>(a.data());
                  py::gil_scoped_release release;
                  return mlp::all_finite(p, n);
              }
              if (py::isinstance<py::array_t<double>>(a)) {
                  const auto* p = static_cast<const double*>(a.data());
                  py::gil_scoped_release release;
                  return mlp::all_finite(p, n);
              }
              throw py::type_error("_all_finite needs a float32 or float64 array");
          },
          py::arg("a"), "True when a C-contiguous float32 or float64 array holds no NaN or inf.");
    m.def("_workspace_allocations",
          [](const py::dict& config_dict, int64_t n_features, int64_t capacity) {
              const Config config = config_from_dict(config_dict);
              const mlp::Layout layout = mlp::make_layout(config, n_features);
              mlp::Workspace<float> ws;
              mlp::audit_begin();
              mlp::init_workspace(ws, layout, capacity);
              return mlp::audit_end();
          },
          py::arg("config"), py::arg("n_features"), py::arg("capacity"),
          "Allocations counted while a workspace is built: the audit's positive control.");
    m.def("_workspace_alignments",
          [](const py::dict& config_dict, int64_t n_features, int64_t capacity) {
              const Config config = config_from_dict(config_dict);
              const mlp::Layout layout = mlp::make_layout(config, n_features);
              mlp::Workspace<float> ws;
              mlp::init_workspace(ws, layout, capacity);
              mlp::Model<float> model = mlp::init_model<float>(config, n_features);
              std::vector<int64_t> offsets;
              auto note = [&](const mlp::Buffer<float>& b) {
                  if (!b.empty()) offsets.push_back(int64_t(uintptr_t(b.data()) % 64));
              };
              note(model.params);
              note(ws.input);
              for (const auto& b : ws.out) note(b);
              note(ws.delta_a);
              note(ws.delta_b);
              note(ws.grad);
              return offsets;
          },
          py::arg("config"), py::arg("n_features"), py::arg("capacity"),
          "Each buffer's address modulo 64 in a fresh model and workspace (tests only).");
    m.def("_gemm", &py_gemm, py::arg("a"), py::arg("b"), py::arg("trans_a") = false,
          py::arg("trans_b") = false, py::arg("reference") = false, py::arg("kernel") = "",
          py::arg("threads") = 1);
}

}  // namespace tunecore::bindings
