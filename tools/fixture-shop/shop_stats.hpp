#pragma once
// Counters behind /__stats, shared by every connection of the shop (thread-safe).

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace rotor::fixture {

class shop_stats {
  public:
    using clock = std::chrono::steady_clock;

    /// `max_rps` <= 0 disables rate limiting.
    explicit shop_stats(double max_rps = 0) : max_rps_(max_rps) {}

    /// Counts a product request (page, API or GraphQL) and says whether it is admitted under the
    /// rate limit; a refused one is answered 429 by the caller.
    bool admit_product_request(clock::time_point now = clock::now());
    void record(const std::string& route, int status);
    void connection_opened();
    void connection_closed();

    nlohmann::json to_json() const;
    void reset();

  private:
    static void slide(std::deque<clock::time_point>& window, clock::time_point now);

    mutable std::mutex mutex_;
    double max_rps_;
    std::map<std::string, std::uint64_t> by_route_;
    std::map<int, std::uint64_t> by_status_;
    std::deque<clock::time_point> admitted_window_;  // admitted product requests in the last 1 s
    std::deque<clock::time_point> attempted_window_; // all product requests in the last 1 s
    std::size_t max_admitted_per_s_ = 0;
    std::size_t max_attempted_per_s_ = 0;
    std::uint64_t rate_limited_ = 0;
    std::uint64_t total_ = 0;
    std::int64_t connections_ = 0;
    std::int64_t max_connections_ = 0;
};

} // namespace rotor::fixture
