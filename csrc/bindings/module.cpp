#include "bindings/bindings.hpp"

PYBIND11_MODULE(_core, m) {
    m.doc() = "tunecore's C++ core: MLP training and quasi-random samplers.";
    tunecore::bindings::bind_train(m);
    tunecore::bindings::bind_samplers(m);
}
