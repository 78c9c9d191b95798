#include "cdp/event_waiter.hpp"

namespace rotor::cdp {

namespace {
constexpr std::size_t max_buffered = 512; // a page emits far fewer of one method per navigation
}

struct event_waiter::state {
    explicit state(std::shared_ptr<client> c) : owner(std::move(c)), timer(owner->get_executor()) {}
    std::shared_ptr<client> owner; // keeps the io_context of `timer` alive
    std::mutex mutex;
    std::deque<json> buffered;
    std::optional<error> ended;
    predicate accept;
    detail::completion waiting;
    boost::asio::steady_timer timer;
    std::uint64_t generation = 0;
};

event_waiter::event_waiter(const std::shared_ptr<client>& c, const std::string& session_id,
                           std::string method, predicate keep)
    : state_(std::make_shared<state>(c)) {
    std::weak_ptr<state> weak = state_;
    event_handlers handlers;
    handlers.on_event = [weak, keep = std::move(keep)](const json& params) {
        auto st = weak.lock();
        if (!st) return;
        if (keep && !keep(params)) return; // a throwing filter is the client's to log and count
        detail::completion done;
        std::exception_ptr thrown;
        {
            std::lock_guard lock(st->mutex);
            bool accepted = false;
            if (st->waiting) {
                try {
                    accepted = st->accept(params);
                } catch (...) {
                    thrown = std::current_exception();
                }
            }
            if (accepted || thrown) {
                done = std::move(st->waiting);
                st->timer.cancel();
            } else {
                if (st->buffered.size() == max_buffered) st->buffered.pop_front();
                st->buffered.push_back(params);
            }
        }
        if (thrown) {
            // The predicate is the waiter's code: its exception ends the wait, and the client
            // logs and counts it.
            done.fail(thrown);
            std::rethrow_exception(thrown);
        }
        if (done) done.succeed(params);
    };
    handlers.on_close = [weak](const error& why) {
        auto st = weak.lock();
        if (!st) return;
        detail::completion done;
        {
            std::lock_guard lock(st->mutex);
            st->ended = why;
            if (st->waiting) {
                done = std::move(st->waiting);
                st->timer.cancel();
            }
        }
        if (done) done.fail(std::make_exception_ptr(why));
    };
    subscription_ = c->subscribe(session_id, std::move(method), std::move(handlers));
}

event_waiter::~event_waiter() {
    subscription_.reset();
    detail::completion abandoned;
    {
        std::lock_guard lock(state_->mutex);
        abandoned = std::move(state_->waiting);
        state_->timer.cancel();
    }
    if (abandoned) {
        abandoned.fail(std::make_exception_ptr(error(errc::target_closed, "event wait abandoned")));
    }
}

std::optional<json> event_waiter::take(const predicate& accept) {
    std::lock_guard lock(state_->mutex);
    for (auto it = state_->buffered.begin(); it != state_->buffered.end(); ++it) {
        if (accept(*it)) {
            json found = std::move(*it);
            state_->buffered.erase(it);
            return found;
        }
    }
    return std::nullopt;
}

void event_waiter::arm(const std::shared_ptr<state>& st, predicate accept, milliseconds timeout,
                       std::string what, detail::completion done) {
    std::unique_lock lock(st->mutex);
    for (auto it = st->buffered.begin(); it != st->buffered.end(); ++it) {
        bool accepted = false;
        try {
            accepted = accept(*it);
        } catch (...) {
            lock.unlock();
            done.fail(std::current_exception());
            return;
        }
        if (accepted) {
            json found = std::move(*it);
            st->buffered.erase(it);
            lock.unlock();
            done.succeed(std::move(found));
            return;
        }
    }
    if (st->ended) {
        const error why = *st->ended;
        lock.unlock();
        done.fail(std::make_exception_ptr(error(why.kind(), what + ": " + why.what())));
        return;
    }
    st->accept = std::move(accept);
    st->waiting = std::move(done);
    const std::uint64_t generation = ++st->generation;
    st->timer.expires_after(timeout);
    st->timer.async_wait([weak = std::weak_ptr<state>(st), generation, timeout,
                          what = std::move(what)](boost::system::error_code ec) {
        if (ec) return;
        auto s = weak.lock();
        if (!s) return;
        detail::completion expired;
        {
            std::lock_guard guard(s->mutex);
            if (s->generation != generation) return;
            expired = std::move(s->waiting);
        }
        if (expired) {
            expired.fail(std::make_exception_ptr(
                error(errc::timeout,
                      what + ": timeout after " + std::to_string(timeout.count()) + " ms")));
        }
    });
}

} // namespace rotor::cdp
