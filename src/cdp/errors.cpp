#include "cdp/errors.hpp"

namespace rotor::cdp {
namespace {

class category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "rotor.cdp"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::timeout:
            return "timeout";
        case errc::protocol_error:
            return "protocol error";
        case errc::browser_closed:
            return "browser closed";
        case errc::target_crashed:
            return "target crashed";
        case errc::target_closed:
            return "target closed";
        case errc::navigation_failed:
            return "navigation failed";
        case errc::evaluation_failed:
            return "evaluation failed";
        case errc::launch_failed:
            return "launch failed";
        case errc::connect_failed:
            return "connect failed";
        case errc::malformed_response:
            return "malformed response";
        case errc::invalid_profile:
            return "invalid page profile";
        case errc::invalid_argument:
            return "invalid argument";
        case errc::reply_too_large:
            return "reply too large";
        }
        return "unknown cdp error";
    }
};

} // namespace

const boost::system::error_category& cdp_category() noexcept {
    static const category instance;
    return instance;
}

} // namespace rotor::cdp
