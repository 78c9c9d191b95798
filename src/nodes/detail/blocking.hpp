#pragma once
// Runs a blocking call (hiredis, a file sync) on a thread pool and resumes the awaiting
// coroutine on its own executor with the result (or the exception).
// GCC 12: never put a temporary with a destructor (a lambda with captures, a std::string) in a
// co_await expression: it is destroyed twice. Name it first, then co_await with std::move.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <type_traits>
#include <utility>

namespace rotor::nodes::detail {

template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> run_blocking(boost::asio::thread_pool& pool, F f) {
    using result = std::invoke_result_t<F>;
    // A named local, not a temporary in the co_await expression: GCC 12 destroys such
    // temporaries twice (and callers pass `f` as a named local for the same reason).
    auto task = [fn = std::move(f)]() mutable -> boost::asio::awaitable<result> {
        if constexpr (std::is_void_v<result>) {
            fn();
            co_return;
        } else {
            co_return fn();
        }
    };
    co_return co_await boost::asio::co_spawn(pool.get_executor(), std::move(task),
                                             boost::asio::use_awaitable);
}

} // namespace rotor::nodes::detail
