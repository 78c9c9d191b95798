#pragma once
// Errors of the Redis job queue, in the same shape as the other modules'.

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <string>
#include <type_traits>

namespace rotor::queue {

enum class errc {
    redis_unavailable = 1, // cannot connect or the connection broke, and retrying ran out of time
    redis_error,           // Redis answered with an error (a script bug, OOM, wrong type)
    lease_lost,            // the job's lease (fencing token) is no longer ours: stop writing
    malformed_job,         // a job hash lacks fields or its params are not JSON
    not_found,             // no such job / group
    invalid_argument,      // a request that can never succeed (empty platform, bad batch size)
    unsafe_config,         // Redis is set up so that it may drop the queue's keys (eviction)
    idempotency_mismatch,  // an enqueue's idempotency key was used before for other items
};

const boost::system::error_category& queue_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), queue_category()};
}

class error : public boost::system::system_error {
  public:
    error(errc e, std::string what)
        : boost::system::system_error(make_error_code(e)), message_(std::move(what)) {}
    errc kind() const noexcept { return static_cast<errc>(code().value()); }
    const char* what() const noexcept override { return message_.c_str(); }

  private:
    std::string message_;
};

} // namespace rotor::queue

namespace boost::system {
template <> struct is_error_code_enum<rotor::queue::errc> : std::true_type {};
} // namespace boost::system
