#include "pool/histogram.hpp"

#include <algorithm>

namespace rotor::pool {

void histogram::observe(std::chrono::nanoseconds d) noexcept {
    const double seconds = std::chrono::duration<double>(d).count();
    const auto it = std::lower_bound(bounds.begin(), bounds.end(), seconds);
    counts_[static_cast<std::size_t>(it - bounds.begin())].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count())),
                      std::memory_order_relaxed);
}

histogram_snapshot histogram::snapshot() const {
    histogram_snapshot s;
    s.bounds.assign(bounds.begin(), bounds.end());
    for (const auto& c : counts_) s.counts.push_back(c.load(std::memory_order_relaxed));
    // The count is the sum of the buckets read, so the two always agree in one snapshot.
    for (auto c : s.counts) s.count += c;
    s.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    return s;
}

double histogram_snapshot::quantile(double q) const {
    if (count == 0) return 0;
    const auto wanted = static_cast<std::uint64_t>(q * static_cast<double>(count) + 0.5);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        seen += counts[i];
        if (seen >= std::max<std::uint64_t>(1, wanted))
            return i < bounds.size() ? bounds[i] : bounds.back() * 2;
    }
    return bounds.back() * 2;
}

} // namespace rotor::pool
