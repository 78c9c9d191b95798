#include "queue/errors.hpp"

namespace rotor::queue {
namespace {

class category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "rotor.queue"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::redis_unavailable:
            return "redis unavailable";
        case errc::redis_error:
            return "redis error";
        case errc::lease_lost:
            return "lease lost";
        case errc::malformed_job:
            return "malformed job";
        case errc::not_found:
            return "not found";
        case errc::invalid_argument:
            return "invalid argument";
        case errc::unsafe_config:
            return "unsafe redis configuration";
        case errc::idempotency_mismatch:
            return "idempotency key used for other items";
        }
        return "unknown queue error";
    }
};

} // namespace

const boost::system::error_category& queue_category() noexcept {
    static const category instance;
    return instance;
}

} // namespace rotor::queue
