#include "pool/errors.hpp"

namespace rotor::pool {
namespace {

class category final : public boost::system::error_category {
  public:
    const char* name() const noexcept override { return "rotor.pool"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::acquire_timeout:
            return "no page lease within the deadline";
        case errc::unhealthy:
            return "browser pool unhealthy";
        case errc::stopped:
            return "browser pool stopped";
        }
        return "unknown pool error";
    }
};

} // namespace

const boost::system::error_category& pool_category() noexcept {
    static const category instance;
    return instance;
}

} // namespace rotor::pool
