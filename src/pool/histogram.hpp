#pragma once
// A fixed-bucket latency histogram in Prometheus' shape (le-buckets plus sum and count): observed
// from any thread with relaxed atomics, read as a snapshot by whoever exports it.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace rotor::pool {

struct histogram_snapshot {
    std::vector<double> bounds;        // upper bounds in seconds, ascending (+Inf implied)
    std::vector<std::uint64_t> counts; // per bucket, not cumulative: bounds.size() + 1 entries
    std::uint64_t count = 0;
    double sum_seconds = 0;
    /// The smallest bound at or below which at least `q` of the observations fall (+Inf: the
    /// largest bound times two); 0 when empty.
    double quantile(double q) const;
};

class histogram {
  public:
    /// Thread-safe, lock-free.
    void observe(std::chrono::nanoseconds d) noexcept;
    histogram_snapshot snapshot() const;

    // 5 ms .. 60 s: acquire waits and navigations both fall in this range.
    static constexpr std::array<double, 14> bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                      1,     2.5,  5,     10,   20,  30,   60};

  private:
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> counts_{};
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_ns_{0};
};

} // namespace rotor::pool
