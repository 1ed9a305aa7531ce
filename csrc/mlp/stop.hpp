// A request to stop a training early (Ctrl-C), shared by the trials of one call.
//
// Anyone may raise the flag (request()). The binding may also give a poll hook, which the
// trainers call at most every kPollNs from requested(), so that a signal can be noticed
// without a second thread watching for it. requested() is cheap (a load and a clock read) and
// safe to call from every trial's thread at once; the hook must be thread-safe too.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace tunecore::mlp {

class StopToken {
public:
    using Poll = bool (*)(void* context);

    StopToken() = default;
    StopToken(Poll poll, void* context) : poll_(poll), context_(context) {}
    StopToken(const StopToken&) = delete;
    StopToken& operator=(const StopToken&) = delete;

    void request() { flag_.store(true, std::memory_order_relaxed); }

    bool requested() {
        if (flag_.load(std::memory_order_relaxed)) return true;
        if (poll_ == nullptr) return false;
        const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now().time_since_epoch())
                                .count();
        if (now < next_poll_ns_.load(std::memory_order_relaxed)) return false;
        next_poll_ns_.store(now + kPollNs, std::memory_order_relaxed);
        if (poll_(context_)) request();
        return flag_.load(std::memory_order_relaxed);
    }

private:
    // 5 ms between polls: Ctrl-C is noticed well within 0.1 s at a negligible cost.
    static constexpr int64_t kPollNs = 5'000'000;

    std::atomic<bool> flag_{false};
    Poll poll_ = nullptr;
    void* context_ = nullptr;
    std::atomic<int64_t> next_poll_ns_{0};
};

}  // namespace tunecore::mlp
