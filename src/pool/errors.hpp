#pragma once
// Errors of the browser pool, in the same shape as rotor::cdp's.

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <string>
#include <type_traits>

namespace rotor::pool {

enum class errc {
    acquire_timeout = 1, // no page lease became free before the deadline
    unhealthy,           // browsers keep failing to launch; the pool cannot serve
    stopped,             // the pool is shutting down
};

const boost::system::error_category& pool_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), pool_category()};
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

} // namespace rotor::pool

namespace boost::system {
template <> struct is_error_code_enum<rotor::pool::errc> : std::true_type {};
} // namespace boost::system
