#include "http/errors.hpp"

namespace rotor::http {
namespace {

class category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "rotor.http"; }
    std::string message(int e) const override {
        switch (static_cast<errc>(e)) {
        case errc::timeout:
            return "timeout";
        case errc::refused:
            return "refused by the address policy";
        case errc::resolve_failed:
            return "host name did not resolve";
        case errc::connect_failed:
            return "connection failed";
        case errc::transfer_failed:
            return "transfer failed";
        case errc::too_large:
            return "response too large";
        case errc::shut_down:
            return "client shut down";
        }
        return "unknown http error";
    }
};

} // namespace

const std::error_category& category() noexcept {
    static const category_impl c;
    return c;
}

std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

} // namespace rotor::http
