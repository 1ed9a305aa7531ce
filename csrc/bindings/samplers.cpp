// Bindings of the samplers: the Python layer allocates each (n, d) float64 output and keeps
// the position in the sequence; these functions check the array, release the GIL and fill it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "bindings/bindings.hpp"
#include "samplers/rng.hpp"
#include "samplers/samplers.hpp"

namespace py = pybind11;

namespace tunecore::bindings {

namespace {

// The (n, d) output: C-contiguous, writeable float64 with d columns.
double* checked_output(py::array& out, std::int64_t d, std::int64_t* rows) {
    if (!py::isinstance<py::array_t<double>>(out) || out.ndim() != 2) {
        throw py::type_error("out must be a 2-D float64 array");
    }
    if (!(out.flags() & py::array::c_style) || !out.writeable()) {
        throw std::invalid_argument("out must be C-contiguous and writeable");
    }
    if (d >= 0 && out.shape(1) != d) {
        throw std::invalid_argument("out must have " + std::to_string(d) + " columns, got " +
                                    std::to_string(out.shape(1)));
    }
    *rows = out.shape(0);
    return static_cast<double*>(out.mutable_data());
}

}  // namespace

void bind_samplers(py::module_& m) {
    using samplers::HaltonEngine;
    using samplers::SobolEngine;

    m.def(
        "random_fill",
        [](py::array out, std::uint64_t seed, std::uint64_t start) {
            std::int64_t n;
            double* data = checked_output(out, -1, &n);
            const int d = static_cast<int>(out.shape(1));
            py::gil_scoped_release release;
            samplers::random_fill(data, n, d, seed, start);
        },
        py::arg("out"), py::arg("seed"), py::arg("start"),
        "Fill out (n, d) with rows start, ..., start + n - 1 of the Philox uniform sampler.");

    py::class_<SobolEngine>(m, "SobolEngine")
        .def(py::init<int, bool, std::uint64_t>(), py::arg("d"), py::arg("scramble"),
             py::arg("seed"))
        .def_property_readonly("d", &SobolEngine::d)
        .def_static("max_dim", &SobolEngine::max_dim)
        .def(
            "fill",
            [](const SobolEngine& self, py::array out, std::uint64_t start) {
                std::int64_t n;
                double* data = checked_output(out, self.d(), &n);
                py::gil_scoped_release release;
                self.fill(data, n, start);
            },
            py::arg("out"), py::arg("start"),
            "Fill out (n, d) with points start, ..., start + n - 1.");

    py::class_<HaltonEngine>(m, "HaltonEngine")
        .def(py::init<int, bool, std::uint64_t>(), py::arg("d"), py::arg("scramble"),
             py::arg("seed"))
        .def_property_readonly("d", &HaltonEngine::d)
        .def(
            "fill",
            [](const HaltonEngine& self, py::array out, std::uint64_t start) {
                std::int64_t n;
                double* data = checked_output(out, self.d(), &n);
                py::gil_scoped_release release;
                self.fill(data, n, start);
            },
            py::arg("out"), py::arg("start"),
            "Fill out (n, d) with points start, ..., start + n - 1.");

    m.def(
        "lhs_fill",
        [](py::array out, bool centered, int optimization, std::uint64_t seed,
           std::uint64_t stream) {
            if (optimization < 0 || optimization > 2) {
                throw std::invalid_argument("optimization must be 0, 1 or 2");
            }
            std::int64_t n;
            double* data = checked_output(out, -1, &n);
            const int d = static_cast<int>(out.shape(1));
            py::gil_scoped_release release;
            samplers::lhs_fill(data, n, d, centered, optimization, seed, stream);
        },
        py::arg("out"), py::arg("centered"), py::arg("optimization"), py::arg("seed"),
        py::arg("stream"),
        "Fill out (n, d) with a Latin hypercube design; optimization 0 none, 1 random-cd, "
        "2 maximin.");

    m.def(
        "philox4x32_10",
        [](std::array<std::uint32_t, 4> counter, std::array<std::uint32_t, 2> key) {
            const samplers::Philox4x32 r = samplers::philox4x32_10(
                counter[0], counter[1], counter[2], counter[3], key[0], key[1]);
            return std::array<std::uint32_t, 4>{r.v[0], r.v[1], r.v[2], r.v[3]};
        },
        py::arg("counter"), py::arg("key"),
        "The Philox4x32-10 block of a counter (4 words) under a key (2 words), for tests.");

    m.def(
        "centered_discrepancy",
        [](py::array_t<double, py::array::c_style | py::array::forcecast> x) {
            if (x.ndim() != 2) throw std::invalid_argument("x must be a 2-D array");
            const std::int64_t n = x.shape(0);
            const int d = static_cast<int>(x.shape(1));
            const double* data = x.data();
            py::gil_scoped_release release;
            return samplers::centered_discrepancy(data, n, d);
        },
        py::arg("x"), "Squared centered L2 discrepancy of an (n, d) sample, O(n^2 d).");
}

}  // namespace tunecore::bindings
