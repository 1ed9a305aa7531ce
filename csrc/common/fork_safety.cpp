#include "common/fork_safety.hpp"

#include <atomic>

#ifndef _WIN32
#include <unistd.h>
#endif

namespace tunecore {

#ifdef _WIN32

bool parallel_regions_safe() { return true; }  // no fork()

#else

namespace {

// The process whose OpenMP runtime owns the thread pool; 0 until a region claims it. fork()
// copies the value, so a child sees its parent's pid here and its own from getpid().
std::atomic<long> g_pool_owner{0};

}  // namespace

bool parallel_regions_safe() {
    const long me = static_cast<long>(getpid());
    long owner = g_pool_owner.load(std::memory_order_acquire);
    if (owner == 0 && g_pool_owner.compare_exchange_strong(owner, me)) return true;
    return owner == me;
}

#endif

}  // namespace tunecore
