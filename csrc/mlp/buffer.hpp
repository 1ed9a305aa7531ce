// Buffer<T>: a std::vector whose storage starts on a 64-byte cache line, and whose resize()
// does not zero what it adds.
//
// malloc aligns to 16 bytes, so a vector's rows of 64 floats would straddle cache lines at an
// offset that depends on where the heap happens to put them: every 16-wide load and store of
// the micro-kernels (activations, deltas, weights read in place, C tiles) then touches two
// lines, and the same training ran up to 20% slower in one process than in the next. Every
// buffer of a trial (parameters, gradient, optimizer state, activations) is one of these.
//
// The block comes from the plain operator new (so the allocation audit sees it), 64 bytes
// larger than asked; the byte before the aligned start holds its distance from the block's
// start (1 to 64), which deallocate reads to free the block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

namespace tunecore::mlp {

inline constexpr std::size_t kCacheLine = 64;

template <typename T>
struct CacheAligned {
    using value_type = T;

    CacheAligned() noexcept = default;
    template <typename U>
    CacheAligned(const CacheAligned<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if (n > (std::size_t(-1) - kCacheLine) / sizeof(T)) throw std::bad_array_new_length();
        auto* raw = static_cast<unsigned char*>(::operator new(n * sizeof(T) + kCacheLine));
        const auto start = (reinterpret_cast<std::uintptr_t>(raw) + kCacheLine) & ~(kCacheLine - 1);
        auto* aligned = reinterpret_cast<unsigned char*>(start);
        aligned[-1] = static_cast<unsigned char>(aligned - raw);
        return reinterpret_cast<T*>(aligned);
    }

    // resize(n) leaves new floats uninitialized (default-initialized), as a scratch area
    // that is always written before it is read wants; assign(n, value) still fills.
    template <typename U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
    template <typename U, typename... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }

    void deallocate(T* p, std::size_t) noexcept {
        auto* aligned = reinterpret_cast<unsigned char*>(p);
        ::operator delete(aligned - aligned[-1]);
    }
};

template <typename T, typename U>
bool operator==(const CacheAligned<T>&, const CacheAligned<U>&) noexcept {
    return true;
}

template <typename T, typename U>
bool operator!=(const CacheAligned<T>&, const CacheAligned<U>&) noexcept {
    return false;
}

template <typename T>
using Buffer = std::vector<T, CacheAligned<T>>;

}  // namespace tunecore::mlp
