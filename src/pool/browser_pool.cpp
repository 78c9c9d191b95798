#include "pool/browser_pool.hpp"

#include "pool/detail/pool_core.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <spdlog/spdlog.h>

#include <future>
#include <thread>

namespace rotor::pool {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

// ---- page_lease ---------------------------------------------------------------------------------

page_lease::page_lease(page_lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), slot_(other.slot_),
      generation_(other.generation_), browser_id_(other.browser_id_),
      page_(std::move(other.page_)) {}

page_lease& page_lease::operator=(page_lease&& other) noexcept {
    if (this != &other) {
        if (pool_) release(item_outcome::abandoned);
        pool_ = std::exchange(other.pool_, nullptr);
        slot_ = other.slot_;
        generation_ = other.generation_;
        browser_id_ = other.browser_id_;
        page_ = std::move(other.page_);
    }
    return *this;
}

page_lease::~page_lease() {
    if (pool_) release(item_outcome::abandoned);
}

void page_lease::release(item_outcome outcome) {
    if (auto* p = std::exchange(pool_, nullptr)) p->release(slot_, generation_, outcome);
    page_.reset();
}

void page_lease::observe_navigation(std::chrono::nanoseconds took) const {
    if (pool_) pool_->core_->navigation.observe(took);
}

// ---- browser_pool -------------------------------------------------------------------------------

page_lease browser_pool::make_lease(browser_pool* pool, std::size_t slot, std::uint64_t generation,
                                    std::uint64_t browser_id, std::shared_ptr<cdp::page> page) {
    page_lease lease;
    lease.pool_ = pool;
    lease.slot_ = slot;
    lease.generation_ = generation;
    lease.browser_id_ = browser_id;
    lease.page_ = std::move(page);
    return lease;
}

browser_pool::browser_pool(pool_options options) : options_(std::move(options)) {
    if (options_.browsers == 0 || options_.concurrency == 0) {
        throw std::invalid_argument("pool: browsers and concurrency must be at least 1");
    }
    shm_ = decide_shm(options_.shm, read_shm(options_.shm_path), options_.concurrency);
    spdlog::info("pool: {}", shm_.reason);
    flag_options flags = options_.flags;
    flags.pages_per_browser = (options_.concurrency + options_.browsers - 1) / options_.browsers;
    flags_ = launch_flags(flags, shm_);
    core_ = std::make_shared<core>(options_, flags_, this);
    auto& c = *core_;

    // First launches in parallel; the pool starts if at least one browser came up.
    cdp::browser_options launch = options_.browser;
    launch.launch.flags.insert(launch.launch.flags.begin(), flags_.begin(), flags_.end());
    std::vector<std::future<std::unique_ptr<cdp::browser>>> launches;
    for (std::size_t i = 0; i < options_.browsers; ++i) {
        launches.push_back(std::async(std::launch::async, [launch]() mutable {
            return cdp::browser::launch(std::move(launch));
        }));
    }
    std::string first_error;
    std::size_t failed = 0;
    for (auto& l : launches) {
        try {
            c.fleet.adopt(l.get());
        } catch (const std::exception& e) {
            if (first_error.empty()) first_error = e.what();
            ++c.totals.launch_failures;
            ++failed;
        }
    }
    if (failed == options_.browsers) {
        c.work.reset();
        throw cdp::error(cdp::errc::launch_failed, "pool: no browser started: " + first_error);
    }
    c.publish(); // before the constructor returns: browser_pids() and stats() see the browsers
    {
        std::lock_guard lock(c.run_mutex);
        c.running = true;
    }
    // Its reports are posted to the pool thread (they wait in the queue until it runs).
    c.start_sampler();
    c.thread = std::thread([&c] {
        // A handler that throws is a bug; it is logged and the pool thread goes on.
        for (;;) {
            try {
                c.io.run();
                return;
            } catch (const std::exception& e) {
                spdlog::error("pool: a pool-thread handler threw: {}", e.what());
            }
        }
    });
    c.post([&c, failed] {
        for (std::size_t i = 0; i < failed; ++i) c.fleet.launch_new();
        c.start_timers();
    });
}

browser_pool::~browser_pool() {
    stop();
}

void browser_pool::drain(milliseconds grace) {
    auto& c = *core_;
    std::lock_guard drain_lock(c.drain_mutex); // a second caller waits for the first

    if (!c.thread.joinable()) return;
    const auto started = clock_type::now();
    const auto deadline = started + grace;
    // The browsers need a moment to close: leases get what is left of the grace before that.
    const auto close_budget =
        std::min(grace / 2, options_.browser.close_grace + milliseconds(2500));
    c.stopping = true;

    auto on_pool_thread = [&c](auto f) {
        std::promise<void> done;
        auto result = done.get_future();
        if (!c.post([&f, &done] {
                f();
                done.set_value();
            }))
            return;
        result.wait();
    };

    // 1. No more leases: waiting acquires fail with stopped; see when the last lease ends.
    auto leases_done = std::make_shared<std::promise<void>>();
    auto all_returned = leases_done->get_future();
    on_pool_thread([&c, &leases_done] {
        c.queue.close();
        c.fleet.stop_launching(); // nothing the drain would have to wait for
        c.leases_done = leases_done;
        c.check_leases_done();
        c.publish();
    });
    const auto leases_deadline = deadline - close_budget;
    if (all_returned.wait_until(leases_deadline) != std::future_status::ready) {
        spdlog::warn("pool: drain: leases still out after {} ms; closing the browsers under them",
                     std::chrono::duration_cast<milliseconds>(clock_type::now() - started).count());
    }

    // 2. Close every browser (in parallel); commands still in flight fail with browser_closed.
    std::vector<std::shared_ptr<cdp::browser>> browsers;
    on_pool_thread([&c, &browsers] {
        browsers = c.fleet.stop();
        c.slots.clear();
        c.publish();
    });
    if (c.sampler) c.sampler->stop();
    std::vector<std::thread> closers;
    for (auto& b : browsers) {
        closers.emplace_back([b] {
            try {
                b->close();
            } catch (const std::exception& e) {
                spdlog::warn("pool: closing a browser: {}", e.what());
            }
        });
    }
    for (auto& t : closers) t.join();
    browsers.clear();

    // 3. Let the acquires still inside the pool see the stop (bounded), then end the thread.
    const auto settle = clock_type::now() + milliseconds(2000);
    while (c.acquires > 0 && clock_type::now() < settle) {
        std::this_thread::sleep_for(milliseconds(5));
    }
    c.blocking.join(); // launches under way finish (and close what they launched)
    {
        std::lock_guard lock(c.run_mutex);
        c.running = false;
    }
    c.work.reset();
    c.io.stop();
    c.thread.join();
    spdlog::info("pool: drained and closed in {} ms",
                 std::chrono::duration_cast<milliseconds>(clock_type::now() - started).count());
}

asio::awaitable<page_lease> browser_pool::acquire(cdp::page_profile profile, milliseconds timeout) {
    auto c = core_;
    // Counted before it is posted, so drain() waits for it instead of stopping the thread
    // under it (a completion that never comes would hang the caller).
    ++c->acquires;
    bool posted = false;
    std::optional<asio::awaitable<page_lease>> op;
    {
        std::lock_guard lock(c->run_mutex);
        if (c->running && !c->stopping) {
            op.emplace(asio::co_spawn(c->io, c->acquire(std::move(profile), timeout),
                                      asio::use_awaitable));
            posted = true;
        }
    }
    if (!posted) {
        --c->acquires;
        throw error(errc::stopped, "acquire: the pool is stopped");
    }
    co_return co_await std::move(*op);
}

page_lease browser_pool::acquire_blocking(cdp::page_profile profile, milliseconds timeout) {
    auto c = core_;
    ++c->acquires;
    std::future<page_lease> f;
    {
        std::lock_guard lock(c->run_mutex);
        if (!c->running || c->stopping) {
            --c->acquires;
            throw error(errc::stopped, "acquire: the pool is stopped");
        }
        f = asio::co_spawn(c->io, c->acquire(std::move(profile), timeout), asio::use_future);
    }
    return f.get();
}

void browser_pool::release(std::size_t slot, std::uint64_t generation, item_outcome outcome) {
    core_->post(
        [c = core_.get(), slot, generation, outcome] { c->release(slot, generation, outcome); });
}

pool_stats browser_pool::stats() const {
    std::shared_ptr<const pool_stats> s;
    {
        std::lock_guard lock(core_->published_mutex);
        s = core_->published;
    }
    pool_stats out = s ? *s : pool_stats{};
    out.acquire_wait = core_->acquire_wait.snapshot();
    out.navigation = core_->navigation.snapshot();
    // Constant for the pool's life: added here, not copied into every published snapshot.
    out.shm = shm_.reason;
    out.flags = flags_;
    out.stopped = core_->stopping;
    const auto since = core_->no_browser_since.load();
    if (since != 0 && !out.stopped) {
        const auto for_how_long =
            clock_type::now() - clock_type::time_point(clock_type::duration(since));
        if (for_how_long > options_.no_browser_unhealthy) {
            out.healthy = false;
            out.unhealthy_reason +=
                std::string(out.unhealthy_reason.empty() ? "" : "; ") +
                "no browser has served for " +
                std::to_string(
                    std::chrono::duration_cast<std::chrono::seconds>(for_how_long).count()) +
                " s";
        }
    }
    if (core_->sampler && !out.stopped) {
        out.sampler_stalled = core_->sampler->stalled();
        if (out.sampler_stalled) {
            out.healthy = false;
            const auto s_since =
                std::chrono::duration_cast<std::chrono::seconds>(core_->sampler->since_last_pass());
            out.unhealthy_reason += std::string(out.unhealthy_reason.empty() ? "" : "; ") +
                                    "memory sampler stalled for " +
                                    std::to_string(s_since.count()) +
                                    " s (a /proc read blocks): memory budgets are not enforced";
        }
    }
    return out;
}

std::vector<std::shared_ptr<cdp::client>> browser_pool::clients() const {
    std::lock_guard lock(core_->published_mutex);
    return core_->published_clients;
}

std::vector<pid_t> browser_pool::browser_pids() const {
    std::lock_guard lock(core_->published_mutex);
    return core_->published_pids;
}

bool browser_pool::is_retryable(const std::exception& e) {
    if (const auto* c = dynamic_cast<const cdp::error*>(&e)) {
        return c->kind() == cdp::errc::browser_closed || c->kind() == cdp::errc::target_crashed ||
               c->kind() == cdp::errc::target_closed;
    }
    return false;
}

} // namespace rotor::pool
