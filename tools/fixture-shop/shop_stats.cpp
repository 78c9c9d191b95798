#include "shop_stats.hpp"

namespace rotor::fixture {

void shop_stats::slide(std::deque<clock::time_point>& window, clock::time_point now) {
    while (!window.empty() && now - window.front() >= std::chrono::seconds(1)) {
        window.pop_front();
    }
}

bool shop_stats::admit_product_request(clock::time_point now) {
    std::lock_guard lock(mutex_);
    slide(attempted_window_, now);
    slide(admitted_window_, now);
    attempted_window_.push_back(now);
    max_attempted_per_s_ = std::max(max_attempted_per_s_, attempted_window_.size());
    if (max_rps_ > 0 && static_cast<double>(admitted_window_.size()) >= max_rps_) {
        ++rate_limited_;
        return false;
    }
    admitted_window_.push_back(now);
    max_admitted_per_s_ = std::max(max_admitted_per_s_, admitted_window_.size());
    return true;
}

void shop_stats::record(const std::string& route, int status) {
    std::lock_guard lock(mutex_);
    ++by_route_[route];
    ++by_status_[status];
    ++total_;
}

void shop_stats::connection_opened() {
    std::lock_guard lock(mutex_);
    ++connections_;
    max_connections_ = std::max(max_connections_, connections_);
}

void shop_stats::connection_closed() {
    std::lock_guard lock(mutex_);
    --connections_;
}

nlohmann::json shop_stats::to_json() const {
    std::lock_guard lock(mutex_);
    nlohmann::json statuses = nlohmann::json::object();
    for (const auto& [status, count] : by_status_) {
        statuses[std::to_string(status)] = count;
    }
    return {{"total_requests", total_},
            {"requests_by_route", by_route_},
            {"requests_by_status", statuses},
            {"max_product_requests_per_s", max_admitted_per_s_},
            {"max_product_attempts_per_s", max_attempted_per_s_},
            {"rate_limited", rate_limited_},
            {"max_rps", max_rps_},
            {"concurrent_connections", connections_},
            {"max_concurrent_connections", max_connections_}};
}

void shop_stats::reset() {
    std::lock_guard lock(mutex_);
    by_route_.clear();
    by_status_.clear();
    admitted_window_.clear();
    attempted_window_.clear();
    max_admitted_per_s_ = 0;
    max_attempted_per_s_ = 0;
    rate_limited_ = 0;
    total_ = 0;
    max_connections_ = connections_;
}

} // namespace rotor::fixture
