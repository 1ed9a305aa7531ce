// Registration functions of tunecore._core. These files under csrc/bindings/ are the only
// ones that include pybind11; each converts and checks arrays, releases the GIL around pure
// C++ and hands results back as NumPy arrays.
#pragma once

#include <pybind11/pybind11.h>

namespace tunecore::bindings {

void bind_train(pybind11::module_& m);     // train.cpp: MLP training
void bind_samplers(pybind11::module_& m);  // samplers.cpp: random, Sobol, Halton, LHS

}  // namespace tunecore::bindings
