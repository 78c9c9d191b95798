#pragma once
// A type-erased, move-only completion for `void(std::exception_ptr, nlohmann::json)` that is
// invoked through the handler's own executor (never inline on the socket's I/O thread).
// While pending it counts as outstanding work on that executor (as every Asio operation must), so
// a caller's thread_pool::join() waits for it instead of returning and letting the pool be
// destroyed before the completion is posted to it.

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <nlohmann/json.hpp>

#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

namespace rotor::cdp::detail {

class completion {
  public:
    completion() = default;
    template <typename Handler,
              typename = std::enable_if_t<!std::is_same_v<std::decay_t<Handler>, completion>>>
    explicit completion(Handler&& handler)
        : impl_(std::make_unique<impl<std::decay_t<Handler>>>(std::forward<Handler>(handler))) {}

    explicit operator bool() const noexcept { return impl_ != nullptr; }

    /// Completes once; later calls do nothing.
    void succeed(nlohmann::json result) { complete(nullptr, std::move(result)); }
    void fail(std::exception_ptr error) { complete(std::move(error), {}); }

  private:
    struct base {
        virtual ~base() = default;
        virtual void complete(std::exception_ptr error, nlohmann::json result) = 0;
    };
    template <typename Handler> struct impl final : base {
        explicit impl(Handler h)
            : handler(std::move(h)),
              work(boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                       boost::asio::execution::outstanding_work.tracked)) {}
        void complete(std::exception_ptr error, nlohmann::json result) override {
            auto ex = boost::asio::get_associated_executor(handler);
            boost::asio::post(ex, [h = std::move(handler), error = std::move(error),
                                   result = std::move(result)]() mutable {
                std::move(h)(std::move(error), std::move(result));
            });
        }
        Handler handler;
        // Destroyed with this impl, after the post above has counted its own work.
        std::decay_t<decltype(boost::asio::prefer(
            std::declval<boost::asio::associated_executor_t<Handler>>(),
            boost::asio::execution::outstanding_work.tracked))>
            work;
    };

    void complete(std::exception_ptr error, nlohmann::json result) {
        if (auto p = std::move(impl_)) p->complete(std::move(error), std::move(result));
    }

    std::unique_ptr<base> impl_;
};

} // namespace rotor::cdp::detail
