#include "pool/detail/fleet.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

namespace rotor::pool::detail {

namespace asio = boost::asio;
using asio::use_awaitable;

std::string_view to_string(browser_state s) {
    switch (s) {
    case browser_state::launching:
        return "launching";
    case browser_state::ready:
        return "ready";
    case browser_state::draining:
        return "draining";
    case browser_state::dead:
        return "dead";
    }
    return "?";
}

namespace {

// A launch on the blocking pool whose outcome is posted back to the pool thread. Shared, so
// neither side dangles when the other is gone first.
struct launch_state {
    explicit launch_state(asio::io_context& io) : done(io, asio::steady_timer::time_point::max()) {}
    asio::steady_timer done;
    std::shared_ptr<cdp::browser> browser;
    std::exception_ptr error;
};

} // namespace

fleet::fleet(asio::io_context& io, asio::thread_pool& blocking, const pool_options& options,
             std::vector<std::string> flags, pool_stats& totals, hooks h)
    : io_(io), blocking_(blocking), options_(options), browser_options_(options.browser),
      totals_(totals), hooks_(std::move(h)) {
    auto& launch_flags = browser_options_.launch.flags;
    launch_flags.insert(launch_flags.begin(), flags.begin(), flags.end());
}

void fleet::adopt(std::shared_ptr<cdp::browser> b) {
    auto entry = std::make_shared<browser_entry>();
    entry->id = ++next_id_;
    entry->chromium = std::move(b);
    entry->state = browser_state::ready;
    browsers_.push_back(entry);
}

void fleet::launch_new() {
    if (stopping_) return;
    auto entry = std::make_shared<browser_entry>();
    entry->id = ++next_id_;
    browsers_.push_back(entry);
    asio::co_spawn(io_, launch_into(entry), asio::detached);
    notify();
}

asio::awaitable<std::shared_ptr<cdp::browser>> fleet::launch_one() {
    auto st = std::make_shared<launch_state>(io_);
    asio::post(blocking_, [st, options = browser_options_, &io = io_, stop = stop_flag_]() mutable {
        // Nothing may escape a blocking-pool task: it would terminate the worker.
        try {
            st->browser = cdp::browser::launch(std::move(options));
            if (*stop) {
                st->browser->close();
                throw error(errc::stopped, "launch: the pool stopped meanwhile");
            }
        } catch (...) {
            st->error = std::current_exception();
        }
        asio::post(io, [st] { st->done.cancel(); });
    });
    try {
        co_await st->done.async_wait(use_awaitable);
    } catch (const boost::system::system_error&) {
        // cancelled: the launch finished
    }
    if (st->error) std::rethrow_exception(st->error);
    co_return st->browser;
}

asio::awaitable<void> fleet::launch_into(std::shared_ptr<browser_entry> b) {
    milliseconds backoff = options_.relaunch_backoff;
    while (!stopping_) {
        std::string failure;
        try {
            auto chromium = co_await launch_one();
            if (stopping_) {
                close_in_background(std::move(chromium));
                co_return;
            }
            b->chromium = std::move(chromium);
            b->state = browser_state::ready;
            consecutive_launch_failures_ = 0;
            if (!healthy_) spdlog::info("pool: browsers launch again; healthy");
            healthy_ = true;
            unhealthy_reason_.clear();
            spdlog::info("pool: browser {} ready (pid {})", b->id, b->chromium->pid());
            notify();
            co_return;
        } catch (const std::exception& e) {
            failure = e.what();
        }
        ++totals_.launch_failures;
        ++consecutive_launch_failures_;
        spdlog::error("pool: launching browser {} failed ({} in a row): {}", b->id,
                      consecutive_launch_failures_, failure);
        if (consecutive_launch_failures_ >= options_.unhealthy_after) {
            healthy_ = false;
            unhealthy_reason_ = std::to_string(consecutive_launch_failures_) +
                                " launches failed in a row; last: " + failure;
            notify(); // waiters fail fast instead of timing out
        }
        asio::steady_timer wait(io_, backoff);
        try {
            co_await wait.async_wait(use_awaitable);
        } catch (const boost::system::system_error&) {
        }
        backoff = std::min(options_.relaunch_backoff_max, backoff * 2);
    }
}

void fleet::close_in_background(std::shared_ptr<cdp::browser> b, std::function<void()> then) {
    if (!b) {
        if (then) asio::post(io_, std::move(then));
        return;
    }
    closed_command_timeouts_ += b->cdp()->stats().timeouts;
    asio::post(blocking_, [b = std::move(b), then = std::move(then), &io = io_]() mutable {
        try {
            b->close();
        } catch (const std::exception& e) {
            spdlog::warn("pool: closing a browser: {}", e.what());
        }
        b.reset();
        if (then) asio::post(io, std::move(then));
    });
}

// The serving browser with the fewest leases and pages being opened: a lease counts in `active`
// only once its page is open, so pages opened together (start-up, after a recycle) would all go
// to the first browser by `active` alone, and stay there until they rotate.
std::shared_ptr<browser_entry> fleet::pick() const {
    std::shared_ptr<browser_entry> best;
    for (const auto& b : browsers_) {
        if (!b->serving()) continue;
        if (!best || b->active + b->opening < best->active + best->opening) best = b;
    }
    return best;
}

void fleet::notify() {
    auto waiters = std::move(change_waiters_);
    change_waiters_.clear();
    for (auto* t : waiters) t->cancel();
    if (hooks_.changed) hooks_.changed();
}

asio::awaitable<void> fleet::wait_for_change(time_point deadline) {
    asio::steady_timer timer(io_, deadline);
    change_waiters_.push_back(&timer);
    try {
        co_await timer.async_wait(use_awaitable);
    } catch (const boost::system::system_error&) {
    }
    std::erase(change_waiters_, &timer);
}

asio::awaitable<std::shared_ptr<context_entry>> fleet::context_for(std::shared_ptr<browser_entry> b,
                                                                   cdp::page_profile profile) {
    const std::string key = profile.key();
    for (;;) {
        if (!b->serving()) {
            throw cdp::error(cdp::errc::browser_closed,
                             "new context: browser " + std::to_string(b->id) +
                                 " stopped serving (" + std::string(to_string(b->state)) +
                                 (b->wedged ? ", wedged" : "") + ")");
        }
        if (auto it = b->contexts.find(key); it != b->contexts.end()) {
            co_return it->second;
        }
        if (auto it = b->creating.find(key); it != b->creating.end()) {
            auto creation = it->second;
            try {
                co_await creation->done.async_wait(use_awaitable);
            } catch (const boost::system::system_error&) {
            }
            // One creation failing fails all who waited for it, at once.
            if (creation->error) std::rethrow_exception(creation->error);
            continue;
        }
        auto creation = std::make_shared<context_creation>(io_);
        b->creating[key] = creation;
        auto chromium = b->chromium;
        std::shared_ptr<cdp::browser_context> made;
        try {
            // The profile's context: with allowed hosts, a dead proxy the listed hosts bypass
            // (the one thing that stops a page's WebSockets to other hosts).
            made = co_await cdp::create_profile_context(chromium->cdp(), profile,
                                                        chromium->command_timeout());
        } catch (...) {
            creation->error = std::current_exception();
        }
        creation->finished = true;
        if (auto it = b->creating.find(key); it != b->creating.end() && it->second == creation)
            b->creating.erase(it);
        creation->done.cancel();
        if (creation->error) {
            try {
                std::rethrow_exception(creation->error);
            } catch (const cdp::error& e) {
                // No answer: the browser is stuck. Nobody else tries it again.
                if (e.kind() == cdp::errc::timeout) mark_wedged(b, e.what());
                throw;
            }
        }
        auto entry = std::make_shared<context_entry>();
        entry->ctx = std::move(made);
        entry->profile_key = key;
        b->contexts[key] = entry;
        ++b->contexts_created;
        co_return entry;
    }
}

bool fleet::replacing_another(const std::shared_ptr<browser_entry>& b) const {
    if (replacing_ > 0) return true;
    return std::any_of(browsers_.begin(), browsers_.end(), [&](const auto& other) {
        return other != b && (other->state == browser_state::launching ||
                              other->state == browser_state::draining);
    });
}

void fleet::recycle(const std::shared_ptr<browser_entry>& b, recycle_reason why) {
    if (b->state != browser_state::ready || stopping_) return;
    // Recycles by count are staggered: while another browser is being replaced this one goes on
    // serving (the rotation asks again after its next item). Otherwise browsers that share the
    // load reach their count together and are all replaced at once, leaving none to serve.
    if (why == recycle_reason::count && replacing_another(b)) return;
    const char* what = "item count";
    switch (why) {
    case recycle_reason::count:
        ++totals_.recycles_by_count;
        break;
    case recycle_reason::memory:
        ++totals_.recycles_by_memory;
        what = "memory budget";
        break;
    case recycle_reason::hang:
        ++totals_.recycles_by_hang;
        what = "a page would not open or close in time";
        break;
    }
    spdlog::info("pool: recycling browser {} ({}: {} items, {:.0f} MB PSS); draining {} lease(s)",
                 b->id, what, b->items, b->pss_mb, b->active);
    b->state = browser_state::draining;
    if (hooks_.drop_idle_pages) hooks_.drop_idle_pages(b);
    if (!b->in_use()) {
        finish_drain(b);
    } else {
        // A lease that never ends must not keep the browser (and its replacement) waiting
        // forever: past the deadline it is closed under the lease, whose commands then fail.
        b->drain_timer = std::make_unique<asio::steady_timer>(io_, options_.drain_timeout);
        b->drain_timer->async_wait([this, weak = std::weak_ptr(b)](boost::system::error_code ec) {
            auto entry = weak.lock();
            if (ec || !entry || entry->state != browser_state::draining || stopping_) return;
            spdlog::warn("pool: browser {} still has {} lease(s) after {} ms of draining; "
                         "closing it under them",
                         entry->id, entry->active, options_.drain_timeout.count());
            finish_drain(entry);
        });
    }
    notify();
}

void fleet::finish_drain(std::shared_ptr<browser_entry> b) { // by value: it leaves browsers_
    // Once: it is gone from the list and dead from here on (a later lease_ended does nothing).
    b->state = browser_state::dead;
    b->drain_timer.reset();
    browsers_.remove(b);
    b->contexts.clear();
    spdlog::info("pool: browser {} drained; closing it, then launching its replacement", b->id);
    ++replacing_;
    close_in_background(std::move(b->chromium), [this] {
        --replacing_;
        launch_new();
    });
    b->chromium.reset();
    notify();
}

void fleet::mark_wedged(const std::shared_ptr<browser_entry>& b, const std::string& why) {
    if (b->wedged) return;
    b->wedged = true;
    spdlog::warn("pool: browser {} does not respond ({}); no new pages on it", b->id, why);
    recycle(b, recycle_reason::hang);
}

void fleet::handle_dead(std::shared_ptr<browser_entry> b) { // by value: it may leave browsers_
    if (stopping_) return;
    if (b->state == browser_state::dead || b->state == browser_state::launching) return;
    if (b->state == browser_state::draining) {
        // Going anyway: its replacement comes when the last lease on it ends.
        if (hooks_.drop_idle_pages) hooks_.drop_idle_pages(b);
        if (!b->in_use()) finish_drain(b);
        return;
    }
    const std::string why = b->chromium ? b->chromium->cdp()->close_reason() : "no process";
    spdlog::warn("pool: browser {} died ({}); launching a replacement", b->id, why);
    b->state = browser_state::dead;
    ++totals_.restarts;
    if (hooks_.drop_idle_pages) hooks_.drop_idle_pages(b);
    b->contexts.clear();
    close_in_background(std::move(b->chromium));
    b->chromium.reset();
    if (!b->in_use()) browsers_.remove(b);
    launch_new();
}

void fleet::check_connections() {
    for (auto& b : std::list(browsers_)) {
        if (b->chromium && !b->chromium->is_connected()) handle_dead(b);
    }
}

void fleet::lease_ended(const std::shared_ptr<browser_entry>& b) {
    if (b->in_use()) return;
    if (b->state == browser_state::draining) {
        finish_drain(b);
    } else if (b->state == browser_state::dead &&
               std::find(browsers_.begin(), browsers_.end(), b) != browsers_.end()) {
        browsers_.remove(b);
        notify();
    }
}

void fleet::stop_launching() {
    stopping_ = true;
    *stop_flag_ = true;
    notify();
}

std::vector<std::shared_ptr<cdp::browser>> fleet::stop() {
    stopping_ = true;
    *stop_flag_ = true;
    std::vector<std::shared_ptr<cdp::browser>> out;
    for (auto& b : browsers_) {
        if (b->chromium) {
            closed_command_timeouts_ += b->chromium->cdp()->stats().timeouts;
            out.push_back(std::move(b->chromium));
        }
        b->chromium.reset();
        b->contexts.clear();
        b->state = browser_state::dead;
    }
    notify();
    return out;
}

std::string fleet::describe() const {
    std::string out;
    for (const auto& b : browsers_) {
        if (!out.empty()) out += ", ";
        out += "browser " + std::to_string(b->id) + " " + std::string(to_string(b->state)) +
               (b->wedged ? " (wedged)" : "") + (b->creating.empty() ? "" : " (opening a context)");
    }
    if (replacing_ > 0) {
        out += (out.empty() ? "" : ", ") + std::to_string(replacing_) +
               " closing before its replacement launches";
    }
    if (!healthy_) out += "; unhealthy: " + unhealthy_reason_;
    return out.empty() ? "no browsers" : out;
}

} // namespace rotor::pool::detail
