#include "bindings/bindings.hpp"

namespace tunecore::bindings {

void bind_train(pybind11::module_& m) { (void)m; }

}  // namespace tunecore::bindings
