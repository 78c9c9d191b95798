#pragma once
// Waiting for a CDP event without polling: subscribe first (events that arrive before the wait
// are buffered), then wait for the first one a predicate accepts, with a deadline.

#include "cdp/client.hpp"

#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace rotor::cdp {

class event_waiter {
  public:
    using predicate = std::function<bool(const json& params)>;

    /// Subscribes to `method` events of `session_id` at once. Thread-safe. When `keep` is given,
    /// only the events it holds for are seen at all (offered to a wait or buffered): on a busy
    /// page the buffer (512 events, the oldest dropped) then holds what matters, not everything.
    /// `keep` runs on the client's I/O thread.
    event_waiter(const std::shared_ptr<client>& c, const std::string& session_id,
                 std::string method, predicate keep = {});
    ~event_waiter();
    event_waiter(const event_waiter&) = delete;
    event_waiter& operator=(const event_waiter&) = delete;

    /// Completes with the params of the first event (buffered or future) that `accept` holds
    /// for; fails with error(errc::timeout, "<what>: timeout after N ms"), with the session's
    /// end (crash, close), or with what `accept` threw (it runs on the client's I/O thread for
    /// future events). One wait at a time. Signature: void(std::exception_ptr, json).
    template <typename Token>
    auto async_wait(predicate accept, milliseconds timeout, std::string what, Token&& token) {
        return boost::asio::async_initiate<Token, void(std::exception_ptr, json)>(
            [st = state_](auto handler, predicate p, milliseconds t, std::string w) {
                arm(st, std::move(p), t, std::move(w), detail::completion(std::move(handler)));
            },
            token, std::move(accept), timeout, std::move(what));
    }

    /// The first buffered event `accept` holds for, without waiting (removed from the buffer).
    std::optional<json> take(const predicate& accept);

    struct state;

  private:
    static void arm(const std::shared_ptr<state>& st, predicate accept, milliseconds timeout,
                    std::string what, detail::completion done);
    std::shared_ptr<state> state_;
    subscription subscription_;
};

} // namespace rotor::cdp
