#include "mlp/types.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace tunecore::mlp {

namespace {

template <typename E, size_t N>
E parse(const std::string& argument, const std::string& name, const char* const (&names)[N],
        const E (&values)[N]) {
    for (size_t i = 0; i < N; ++i) {
        if (name == names[i]) return values[i];
    }
    std::ostringstream msg;
    msg << argument << " must be one of ";
    for (size_t i = 0; i < N; ++i) msg << (i ? ", " : "") << "'" << names[i] << "'";
    msg << "; got '" << name << "'";
    throw std::invalid_argument(msg.str());
}

std::string num(double x) {
    std::ostringstream s;
    s.precision(17);
    s << x;
    return s.str();
}

// Throw "<what><value>" unless ok. The message is built only on failure: formatting a dozen
// doubles cost more than the rest of a one-epoch training's setup.
void require(bool ok, const char* what, double value) {
    if (!ok) throw std::invalid_argument(what + num(value));
}

}  // namespace

Activation parse_activation(const std::string& name) {
    static const char* const names[] = {"relu", "leaky_relu", "tanh", "sigmoid", "identity"};
    static const Activation values[] = {Activation::relu, Activation::leaky_relu,
                                        Activation::tanh, Activation::sigmoid,
                                        Activation::identity};
    return parse("activation", name, names, values);
}

Loss parse_loss(const std::string& name) {
    static const char* const names[] = {"cross_entropy", "binary_cross_entropy", "mse"};
    static const Loss values[] = {Loss::cross_entropy, Loss::binary_cross_entropy, Loss::mse};
    return parse("loss", name, names, values);
}

Optimizer parse_optimizer(const std::string& name) {
    static const char* const names[] = {"sgd", "momentum", "rmsprop", "adam"};
    static const Optimizer values[] = {Optimizer::sgd, Optimizer::momentum, Optimizer::rmsprop,
                                       Optimizer::adam};
    return parse("optimizer", name, names, values);
}

Decay parse_decay(const std::string& name) {
    static const char* const names[] = {"none", "inverse_time", "exponential", "step", "cosine"};
    static const Decay values[] = {Decay::none, Decay::inverse_time, Decay::exponential,
                                   Decay::step, Decay::cosine};
    return parse("lr_decay", name, names, values);
}

void validate(const Config& c, int64_t n_features) {
    // The Python layer checks all of this first with friendlier messages; this is the core's
    // own guard, so no configuration can reach the kernels in a state they cannot handle.
    require(n_features >= 1, "X must have at least one column, got ", double(n_features));
    for (int h : c.hidden) require(h >= 1, "hidden widths must be >= 1, got ", h);
    require(c.n_outputs >= 1, "n_outputs must be >= 1, got ", double(c.n_outputs));
    // Offsets into the parameter vector are int64: a network whose count would overflow them
    // (widths near 2^31 in several layers) must never reach make_layout.
    double params = 0.0;
    double in = double(n_features);
    for (size_t l = 0; l <= c.hidden.size(); ++l) {
        const double out = double(l < c.hidden.size() ? c.hidden[l] : c.n_outputs);
        params += in * out + 4.0 * out;
        in = out;
    }
    if (!(params < 0x1p60)) {
        throw std::invalid_argument(
            "hidden widths and n_outputs make a network too large to index (" + num(params) +
            " parameters)");
    }
    require(std::isfinite(c.lr) && c.lr > 0, "lr must be a finite number > 0, got ", c.lr);
    require(c.momentum >= 0 && c.momentum < 1, "momentum must be in [0, 1), got ", c.momentum);
    require(c.beta1 >= 0 && c.beta1 < 1, "beta1 must be in [0, 1), got ", c.beta1);
    require(c.beta2 >= 0 && c.beta2 < 1, "beta2 must be in [0, 1), got ", c.beta2);
    require(c.rho >= 0 && c.rho < 1, "rho must be in [0, 1), got ", c.rho);
    require(std::isfinite(c.eps) && c.eps > 0, "eps must be a finite number > 0, got ", c.eps);
    require(c.batch_size >= 1, "batch_size must be >= 1, got ", double(c.batch_size));
    require(c.epochs >= 1, "epochs must be >= 1, got ", double(c.epochs));
    require(c.decay_steps >= 1, "decay_steps must be >= 1, got ", double(c.decay_steps));
    require(std::isfinite(c.decay_rate) && c.decay_rate >= 0,
            "decay_rate must be a finite number >= 0, got ", c.decay_rate);
    if (c.lr_decay == Decay::exponential || c.lr_decay == Decay::step ||
        c.lr_decay == Decay::cosine) {
        require(c.decay_rate <= 1, "decay_rate must be in [0, 1] for this lr_decay, got ",
                c.decay_rate);
    }
    require(c.bn_momentum >= 0 && c.bn_momentum < 1, "bn_momentum must be in [0, 1), got ",
            c.bn_momentum);
    require(std::isfinite(c.bn_eps) && c.bn_eps > 0, "bn_eps must be a finite number > 0, got ",
            c.bn_eps);
    require(std::isfinite(c.l2) && c.l2 >= 0, "l2 must be a finite number >= 0, got ", c.l2);
}

}  // namespace tunecore::mlp
