#include "mlp/alloc_audit.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

#if defined(__linux__) && defined(__GNUC__)
#define TUNECORE_ALLOC_AUDIT 1
#else
#define TUNECORE_ALLOC_AUDIT 0
#endif

namespace tunecore::mlp {

namespace {

std::atomic<bool> g_step_audit{false};
thread_local bool t_counting = false;
thread_local int64_t t_count = 0;

inline void note_allocation() {
    if (t_counting) ++t_count;
}

void* allocate(std::size_t size) {
    note_allocation();
    if (size == 0) size = 1;
    for (;;) {
        if (void* p = std::malloc(size)) return p;
        std::new_handler handler = std::get_new_handler();
        if (handler == nullptr) throw std::bad_alloc();
        handler();
    }
}

}  // namespace

void set_step_audit(bool enabled) { g_step_audit.store(enabled, std::memory_order_relaxed); }

bool step_audit_enabled() { return g_step_audit.load(std::memory_order_relaxed); }

bool audit_available() { return TUNECORE_ALLOC_AUDIT != 0; }

void audit_begin() {
    t_count = 0;
    t_counting = true;
}

int64_t audit_end() {
    t_counting = false;
    return t_count;
}

}  // namespace tunecore::mlp

// Replacements for this library's plain operator new and delete, Linux only: there an
// extension module's own calls bind to its own definitions, and the standard library's forward
// to malloc and free as well, so memory may cross between them. Over-aligned new is left to the
// standard library (the core never uses it).
#if TUNECORE_ALLOC_AUDIT
void* operator new(std::size_t size) { return tunecore::mlp::allocate(size); }
void* operator new[](std::size_t size) { return tunecore::mlp::allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return tunecore::mlp::allocate(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return tunecore::mlp::allocate(size);
    } catch (...) {
        return nullptr;
    }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#endif  // TUNECORE_ALLOC_AUDIT
