#include "pool/browser_pool.hpp"

#include "pool/memory.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <future>
#include <list>
#include <thread>

namespace rotor::pool {

namespace asio = boost::asio;
using asio::use_awaitable;

namespace {

enum class browser_state { launching, ready, retiring, draining, dead };

std::string_view to_string(browser_state s) {
    switch (s) {
    case browser_state::launching:
        return "launching";
    case browser_state::ready:
        return "ready";
    case browser_state::retiring:
        return "retiring";
    case browser_state::draining:
        return "draining";
    case browser_state::dead:
        return "dead";
    }
    return "?";
}

struct context_entry {
    std::shared_ptr<cdp::browser_context> ctx;
    std::size_t items = 0;
    std::size_t open_pages = 0;
    bool retired = false;
};

struct browser_entry {
    std::uint64_t id = 0;
    std::unique_ptr<cdp::browser> b;
    browser_state st = browser_state::launching;
    std::shared_ptr<context_entry> current;
    bool context_pending = false;
    std::vector<asio::steady_timer*> context_waiters;
    std::shared_ptr<browser_entry> replacement; // while retiring
    bool wedged = false; // a page would not open or close in time: no new pages, recycle
    std::size_t items = 0;
    std::size_t active = 0;
    std::size_t pages_created = 0;
    std::size_t contexts_created = 0;
    std::size_t page_rotations = 0;
    std::size_t context_rotations = 0;
    std::size_t processes = 0;
    double pss_mb = 0;
};

struct slot_entry {
    bool busy = false;
    std::shared_ptr<cdp::page> page;
    std::shared_ptr<context_entry> ctx;
    std::shared_ptr<browser_entry> browser;
    std::size_t page_items = 0;
};

struct grant {
    std::size_t slot = 0;
    std::shared_ptr<cdp::page> page;
    std::uint64_t browser_id = 0;
};

struct waiter {
    explicit waiter(asio::io_context& io) : timer(io) {}
    asio::steady_timer timer;
    bool woken = false;
};

// Failures an acquire tries again (on another or a replacement browser) before its deadline.
bool retry_in_acquire(const std::exception& e) {
    if (browser_pool::is_retryable(e)) return true;
    const auto* c = dynamic_cast<const cdp::error*>(&e);
    return c != nullptr && c->kind() == cdp::errc::timeout; // its browser was marked wedged
}
} // namespace

struct browser_pool::state {
    explicit state(const pool_options& o) : options(o), blocking(2) {}

    const pool_options& options;
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> work{asio::make_work_guard(io)};
    asio::thread_pool blocking; // launches and closes block for hundreds of milliseconds
    std::thread thread;
    asio::steady_timer sampler{io};

    // Everything below: pool thread only.
    std::list<std::shared_ptr<browser_entry>> browsers;
    std::vector<slot_entry> slots;
    std::deque<waiter*> waiters;
    std::uint64_t next_browser_id = 0;
    std::size_t preparing = 0; // slots taken by an acquire that is still opening their page
    bool stopping = false;
    bool healthy = true;
    std::string unhealthy_reason;
    std::size_t consecutive_launch_failures = 0;
    pool_stats totals;
    std::vector<std::string> flags;

    cdp::browser_options browser_options() const {
        cdp::browser_options o = options.browser;
        o.launch.flags.insert(o.launch.flags.begin(), flags.begin(), flags.end());
        return o;
    }

    // ---- launching --------------------------------------------------------------------------

    // Blocking launch on the blocking pool; resumes on the pool thread.
    asio::awaitable<std::unique_ptr<cdp::browser>> launch_one() {
        auto options_copy = browser_options();
        std::promise<std::unique_ptr<cdp::browser>> promise;
        auto result = promise.get_future();
        asio::steady_timer done(io, asio::steady_timer::time_point::max());
        asio::post(blocking, [&promise, &done, options_copy, this]() mutable {
            try {
                promise.set_value(cdp::browser::launch(std::move(options_copy)));
            } catch (...) {
                promise.set_exception(std::current_exception());
            }
            asio::post(io, [&done] { done.cancel(); });
        });
        try {
            co_await done.async_wait(use_awaitable);
        } catch (const boost::system::system_error&) {
            // cancelled: the launch finished
        }
        co_return result.get();
    }

    // Launches into `b` until it works (backoff, unhealthy after repeated failures).
    asio::awaitable<void> launch_into(std::shared_ptr<browser_entry> b) {
        milliseconds backoff = options.relaunch_backoff;
        while (!stopping) {
            try {
                b->b = co_await launch_one();
                b->st = browser_state::ready;
                b->current.reset();
                consecutive_launch_failures = 0;
                if (!healthy) spdlog::info("pool: browsers launch again; healthy");
                healthy = true;
                unhealthy_reason.clear();
                spdlog::info("pool: browser {} ready (pid {})", b->id, b->b->pid());
                on_browser_ready(b);
                co_return;
            } catch (const std::exception& e) {
                ++totals.launch_failures;
                ++consecutive_launch_failures;
                spdlog::error("pool: launching browser {} failed ({} in a row): {}", b->id,
                              consecutive_launch_failures, e.what());
                if (consecutive_launch_failures >= options.unhealthy_after) {
                    healthy = false;
                    unhealthy_reason = std::to_string(consecutive_launch_failures) +
                                       " launches failed in a row; last: " + e.what();
                    wake_all(); // waiters fail fast instead of timing out
                }
            }
            asio::steady_timer wait(io, backoff);
            co_await wait.async_wait(use_awaitable);
            backoff = std::min(options.relaunch_backoff_max, backoff * 2);
        }
    }

    void on_browser_ready(const std::shared_ptr<browser_entry>& b) {
        // A replacement takes over from the browser it replaces, which now drains.
        for (auto& old : std::list(browsers)) { // finish_drain() may remove from the list
            if (old->replacement == b && old->st == browser_state::retiring) {
                old->st = browser_state::draining;
                old->replacement.reset();
                finish_drain(old);
            }
        }
        wake_all();
    }

    // Blocking close on the blocking pool, off the pool thread.
    void close_in_background(std::unique_ptr<cdp::browser> b) {
        if (!b) return;
        auto shared = std::shared_ptr<cdp::browser>(std::move(b));
        asio::post(blocking, [shared] {
            // Nothing may escape a blocking-pool task: it would terminate the worker.
            try {
                shared->close();
            } catch (const std::exception& e) {
                spdlog::warn("pool: closing a browser: {}", e.what());
            }
        });
    }

    // ---- recycling and death ----------------------------------------------------------------

    enum class recycle_reason { count, memory, hang };

    void start_recycle(std::shared_ptr<browser_entry> b, recycle_reason why) {
        if (b->st != browser_state::ready || stopping) return;
        b->st = browser_state::retiring; // keeps serving until its replacement is up
        const char* what = "item count";
        switch (why) {
        case recycle_reason::count:
            ++totals.recycles_by_count;
            break;
        case recycle_reason::memory:
            ++totals.recycles_by_memory;
            what = "memory budget";
            break;
        case recycle_reason::hang:
            ++totals.recycles_by_hang;
            what = "a page would not open or close in time";
            break;
        }
        spdlog::info("pool: recycling browser {} ({}: {} items, {:.0f} MB PSS)", b->id, what,
                     b->items, b->pss_mb);
        auto r = std::make_shared<browser_entry>();
        r->id = ++next_browser_id;
        b->replacement = r;
        browsers.push_back(r);
        asio::co_spawn(io, launch_into(r), asio::detached);
    }

    void finish_drain(std::shared_ptr<browser_entry> b) { // by value: it may leave `browsers`
        if (b->st != browser_state::draining || b->active > 0) return;
        for (auto& s : slots) {
            if (s.browser == b && !s.busy) {
                s.page.reset();
                s.ctx.reset();
                s.browser.reset();
            }
        }
        browsers.remove(b);
        close_in_background(std::move(b->b));
        spdlog::info("pool: browser {} drained and closed", b->id);
    }

    void handle_dead(std::shared_ptr<browser_entry> b) { // by value: it may leave `browsers`
        if (b->st == browser_state::dead || b->st == browser_state::launching || stopping) return;
        const std::string why = b->b ? b->b->cdp()->close_reason() : "no browser";
        spdlog::warn("pool: browser {} died ({}); relaunching", b->id, why);
        const bool was_retiring =
            b->st == browser_state::retiring || b->st == browser_state::draining;
        b->st = browser_state::dead;
        ++totals.restarts;
        for (auto& s : slots) {
            if (s.browser == b && !s.busy) {
                s.page.reset();
                s.ctx.reset();
                s.browser.reset();
            }
        }
        b->current.reset();
        close_in_background(std::move(b->b));
        if (was_retiring) {
            // Its replacement is already on the way: this one just goes.
            if (b->active == 0) browsers.remove(b);
            return;
        }
        b->items = 0;
        b->st = browser_state::launching;
        asio::co_spawn(io, launch_into(b), asio::detached);
    }

    // ---- memory sampling --------------------------------------------------------------------

    void schedule_sample() {
        sampler.expires_after(options.memory_sample_interval);
        sampler.async_wait([this](boost::system::error_code ec) {
            if (ec || stopping) return;
            sample();
            schedule_sample();
        });
    }

    // Reading /proc (smaps_rollup of every process, cmdlines for crashpad) takes milliseconds
    // and may stall on a busy machine: it runs on the blocking pool, the figures come back here.
    bool sampling = false;

    void sample() {
        struct probe {
            std::shared_ptr<browser_entry> entry;
            std::shared_ptr<const cdp::chromium_process> process;
        };
        std::vector<probe> probes;
        auto snapshot = browsers; // handlers below may change the list
        for (auto& b : snapshot) {
            if (!b->b) continue;
            if (!b->b->is_connected()) {
                if (b->st == browser_state::ready || b->st == browser_state::retiring)
                    handle_dead(b);
                continue;
            }
            probes.push_back({b, b->b->process()});
        }
        if (probes.empty() || sampling) return;
        sampling = true;
        asio::post(blocking, [this, probes = std::move(probes)]() mutable {
            std::vector<std::pair<std::size_t, double>> figures;
            for (const auto& p : probes) {
                // /proc reads never throw (a process that exits meanwhile counts 0); anything
                // else is logged, not let out of a blocking-pool task (it would terminate us).
                try {
                    const auto pids = p.process->all_pids();
                    figures.emplace_back(pids.size(), pss_mib(pids));
                } catch (const std::exception& e) {
                    spdlog::warn("pool: memory sample: {}", e.what());
                    figures.emplace_back(0, 0.0);
                }
            }
            asio::post(io, [this, probes = std::move(probes), figures = std::move(figures)] {
                sampling = false;
                if (stopping) return;
                for (std::size_t i = 0; i < probes.size(); ++i) {
                    auto& b = probes[i].entry;
                    b->processes = figures[i].first;
                    b->pss_mb = figures[i].second;
                    if (over_memory_budget(options.rotation, b->pss_mb))
                        start_recycle(b, recycle_reason::memory);
                }
            });
        });
    }

    // ---- leases -----------------------------------------------------------------------------

    void wake_one() {
        while (!waiters.empty()) {
            waiter* w = waiters.front();
            waiters.pop_front();
            if (w->woken) continue;
            w->woken = true;
            w->timer.cancel();
            return;
        }
    }

    void wake_all() {
        while (!waiters.empty()) wake_one();
    }

    std::shared_ptr<browser_entry> pick_browser() {
        std::shared_ptr<browser_entry> best;
        for (auto& b : browsers) {
            const bool serving = b->st == browser_state::ready || b->st == browser_state::retiring;
            if (!serving || b->wedged || !b->b || !b->b->is_connected()) continue;
            if (!best || b->active < best->active) best = b;
        }
        return best;
    }

    bool page_usable(const slot_entry& s) const {
        return s.page && s.browser && s.ctx && !s.ctx->retired && !s.page->ended() &&
               (s.browser->st == browser_state::ready ||
                s.browser->st == browser_state::retiring) &&
               s.browser->b && s.browser->b->is_connected();
    }

    asio::awaitable<std::shared_ptr<context_entry>>
    current_context(std::shared_ptr<browser_entry> b) {
        while (b->context_pending) {
            asio::steady_timer wait(io, asio::steady_timer::time_point::max());
            b->context_waiters.push_back(&wait);
            try {
                co_await wait.async_wait(use_awaitable);
            } catch (const boost::system::system_error&) {
            }
        }
        if (!b->current) {
            b->context_pending = true;
            try {
                auto entry = std::make_shared<context_entry>();
                entry->ctx = co_await b->b->new_context();
                b->current = entry;
                ++b->contexts_created;
            } catch (const std::exception& e) {
                b->context_pending = false;
                for (auto* w : b->context_waiters) w->cancel();
                b->context_waiters.clear();
                const auto* c = dynamic_cast<const cdp::error*>(&e);
                if (c != nullptr && c->kind() == cdp::errc::timeout) mark_wedged(b, e.what());
                throw;
            } catch (...) {
                b->context_pending = false;
                for (auto* w : b->context_waiters) w->cancel();
                b->context_waiters.clear();
                throw;
            }
            b->context_pending = false;
            for (auto* w : b->context_waiters) w->cancel();
            b->context_waiters.clear();
        }
        co_return b->current;
    }

    // True when the page's renderer holds more than page_memory_mb of JavaScript memory (heap
    // plus array-buffer storage), or does not answer: replace the page. The figure is the
    // renderer's V8 isolate, garbage of documents already left included. That is on purpose: a
    // collection frees it inside the process but the process keeps the pages (measured: no lower
    // PSS), while a replaced page lets a bloated renderer exit and return everything. A new page
    // may land in the same renderer and be replaced again until that renderer is gone.
    asio::awaitable<bool> page_too_big(std::shared_ptr<cdp::page> page) {
        try {
            const auto usage = co_await page->send("Runtime.getHeapUsage", cdp::json::object(),
                                                   milliseconds(2000));
            const double bytes =
                usage.value("usedSize", 0.0) + usage.value("backingStorageSize", 0.0);
            co_return bytes > static_cast<double>(options.rotation.page_memory_mb) * 1048576.0;
        } catch (const std::exception&) {
            ++totals.page_memory_unanswered; // a busy or hung renderer: replaced all the same
            co_return true;
        }
    }

    // Gives slot `i` a usable page (a new one after rotation or when it grew too big). Pool
    // thread.
    asio::awaitable<void> prepare(std::size_t i) {
        bool too_big = false;
        if (options.rotation.page_memory_mb > 0 && page_usable(slots[i])) {
            auto page = slots[i].page;
            too_big = co_await page_too_big(std::move(page));
        }
        if (too_big) {
            ++totals.page_memory_replacements;
            drop_page(i, /*count_rotation=*/false);
        }
        if (!page_usable(slots[i])) {
            drop_page(i, /*count_rotation=*/false);
            auto b = pick_browser();
            if (!b) throw error(errc::unhealthy, "acquire: no browser is up (" + describe() + ")");
            auto ctx = co_await current_context(b);
            ++ctx->open_pages;
            std::shared_ptr<cdp::page> page;
            try {
                page = co_await ctx->ctx->new_page();
            } catch (const cdp::error& e) {
                --ctx->open_pages;
                // No answer: the browser (or the renderer the page was put in) is stuck.
                if (e.kind() == cdp::errc::timeout) mark_wedged(b, e.what());
                throw;
            } catch (...) {
                --ctx->open_pages;
                throw;
            }
            ++b->pages_created;
            slots[i].page = std::move(page);
            slots[i].ctx = std::move(ctx);
            slots[i].browser = std::move(b);
            slots[i].page_items = 0;
        }
    }

    void mark_wedged(const std::shared_ptr<browser_entry>& b, const std::string& why) {
        if (b->wedged) return;
        b->wedged = true;
        spdlog::warn("pool: browser {} does not respond ({}); no new pages on it", b->id, why);
        start_recycle(b, recycle_reason::hang);
    }

    std::string describe() const {
        std::string out;
        for (const auto& b : browsers) {
            if (!out.empty()) out += ", ";
            out += "browser " + std::to_string(b->id) + " " + std::string(to_string(b->st)) +
                   (b->context_pending ? " (creating a context)" : "");
        }
        if (!healthy) out += "; unhealthy: " + unhealthy_reason;
        return out.empty() ? "no browsers" : out;
    }

    std::optional<std::size_t> free_slot() const {
        for (std::size_t i = 0; i < slots.size(); ++i) {
            if (!slots[i].busy) return i;
        }
        return std::nullopt;
    }

    asio::awaitable<grant> acquire(milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        bool woken = false;
        for (;;) {
            if (stopping) throw error(errc::stopped, "acquire: the pool is stopping");
            if (!healthy && !pick_browser()) {
                throw error(errc::unhealthy,
                            "acquire: browser pool unhealthy: " + unhealthy_reason);
            }
            // Newcomers queue behind earlier waiters: first come, first served.
            auto i = (waiters.empty() || woken) ? free_slot() : std::nullopt;
            if (i && pick_browser()) {
                auto& s = slots[*i];
                s.busy = true;
                ++preparing;
                try {
                    co_await prepare(*i);
                    --preparing;
                } catch (const std::exception& e) {
                    --preparing;
                    s.busy = false;
                    wake_one();
                    if (!retry_in_acquire(e) || std::chrono::steady_clock::now() >= deadline) throw;
                    spdlog::warn("pool: preparing a page failed, trying again: {}", e.what());
                    for (auto& b : std::list(browsers)) {
                        if (b->b && !b->b->is_connected()) handle_dead(b);
                    }
                    woken = true;
                    continue;
                }
                ++s.browser->active;
                ++totals.leases_active;
                co_return grant{*i, s.page, s.browser->id};
            }
            waiter w(io);
            w.timer.expires_at(deadline);
            waiters.push_back(&w);
            bool expired = false;
            try {
                co_await w.timer.async_wait(use_awaitable);
                expired = !w.woken;
            } catch (const boost::system::system_error&) {
                // woken by a release or a browser coming up
            }
            if (!w.woken) {
                waiters.erase(std::remove(waiters.begin(), waiters.end(), &w), waiters.end());
            }
            if (expired) {
                throw error(errc::acquire_timeout,
                            "acquire: no page lease within " + std::to_string(timeout.count()) +
                                " ms (" + std::to_string(totals.leases_active) + " of " +
                                std::to_string(slots.size()) + " leased, " +
                                std::to_string(preparing) + " opening a page, " +
                                std::to_string(waiters.size()) + " waiting; " + describe() + ")");
            }
            woken = true;
        }
    }

    // Closes the slot's page in the background; the slot is free for a new page at once. A page
    // that will not close in time gets its browser recycled (the watchdog). A broken page's
    // scripts are stopped first: a renderer spinning in JavaScript would otherwise stay hung, and
    // under a renderer-process limit the next page may be put into that very process.
    void drop_page(std::size_t i, bool count_rotation, bool broken = false) {
        auto& s = slots[i];
        if (!s.page) {
            s.ctx.reset();
            s.browser.reset();
            return;
        }
        auto page = std::move(s.page);
        auto ctx = std::move(s.ctx);
        auto b = std::move(s.browser);
        s.page_items = 0;
        if (count_rotation && b) {
            ++b->page_rotations;
            ++totals.page_rotations;
        }
        const bool alive = b && b->b && b->b->is_connected() && !page->ended();
        asio::co_spawn(
            io,
            [this, page, ctx, b, alive, broken]() -> asio::awaitable<void> {
                if (alive && broken) {
                    try {
                        co_await page->send("Runtime.terminateExecution", cdp::json::object(),
                                            milliseconds(2000));
                    } catch (const std::exception&) {
                        // not running, or no answer: the close below decides
                    }
                }
                if (alive) {
                    try {
                        co_await page->close(options.page_close_timeout);
                    } catch (const std::exception& e) {
                        ++totals.forced_closes;
                        spdlog::warn("pool: page {} did not close ({}); recycling browser {}",
                                     page->target_id(), e.what(), b->id);
                        mark_wedged(b, "a page did not close");
                    }
                }
                if (ctx && ctx->open_pages > 0) --ctx->open_pages;
                if (ctx && ctx->retired && ctx->open_pages == 0 && b && b->b &&
                    b->b->is_connected()) {
                    try {
                        co_await ctx->ctx->dispose();
                    } catch (const std::exception& e) {
                        spdlog::warn("pool: disposing a context failed: {}", e.what());
                    }
                }
            },
            asio::detached);
    }

    void release(std::size_t i, item_outcome outcome) {
        auto& s = slots[i];
        if (!s.busy) return;
        s.busy = false;
        --totals.leases_active;
        auto b = s.browser;
        auto ctx = s.ctx;
        if (b) --b->active;
        ++totals.items;
        ++s.page_items;
        if (ctx) ++ctx->items;
        if (b) ++b->items;
        const bool connected = b && b->b && b->b->is_connected();
        const bool broken = outcome == item_outcome::broken || outcome == item_outcome::abandoned ||
                            !s.page || s.page->ended() || !connected;
        const auto d = decide_after_item(
            options.rotation, {s.page_items, ctx ? ctx->items : 0, b ? b->items : 0}, broken);
        if (ctx && d.retire_context && !ctx->retired) {
            ctx->retired = true;
            if (b && b->current == ctx) b->current.reset();
            if (b) ++b->context_rotations;
            ++totals.context_rotations;
        }
        if (d.replace_page || (ctx && ctx->retired)) drop_page(i, !broken, broken);
        if (b) {
            if (!connected) {
                handle_dead(b);
            } else if (d.recycle_browser) {
                start_recycle(b, recycle_reason::count);
            }
            finish_drain(b);
            if (b->st == browser_state::dead && b->active == 0 && !b->b) browsers.remove(b);
        }
        wake_one();
    }

    pool_stats snapshot() const {
        pool_stats out = totals;
        out.waiters = waiters.size();
        out.healthy = healthy;
        out.unhealthy_reason = unhealthy_reason;
        out.pss_mb = 0;
        for (const auto& b : browsers) {
            browser_stats s;
            s.id = b->id;
            s.pid = b->b ? b->b->pid() : 0;
            s.state = std::string(to_string(b->st));
            s.items = b->items;
            s.active_leases = b->active;
            s.pages_created = b->pages_created;
            s.contexts_created = b->contexts_created;
            s.page_rotations = b->page_rotations;
            s.context_rotations = b->context_rotations;
            s.processes = b->processes;
            s.pss_mb = b->pss_mb;
            out.pss_mb += b->pss_mb;
            out.browsers.push_back(s);
        }
        return out;
    }
};

// ---- page_lease ---------------------------------------------------------------------------------

page_lease::page_lease(page_lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), slot_(other.slot_),
      browser_id_(other.browser_id_), page_(std::move(other.page_)) {}

page_lease& page_lease::operator=(page_lease&& other) noexcept {
    if (this != &other) {
        if (pool_) release(item_outcome::abandoned);
        pool_ = std::exchange(other.pool_, nullptr);
        slot_ = other.slot_;
        browser_id_ = other.browser_id_;
        page_ = std::move(other.page_);
    }
    return *this;
}

page_lease::~page_lease() {
    if (pool_) release(item_outcome::abandoned);
}

void page_lease::release(item_outcome outcome) {
    if (auto* p = std::exchange(pool_, nullptr)) p->release(slot_, outcome);
    page_.reset();
}

// ---- browser_pool -------------------------------------------------------------------------------

browser_pool::browser_pool(pool_options options)
    : options_(std::move(options)), state_(std::make_unique<state>(options_)) {
    if (options_.browsers == 0 || options_.concurrency == 0) {
        throw std::invalid_argument("pool: browsers and concurrency must be at least 1");
    }
    shm_ = decide_shm(options_.shm, read_shm(options_.shm_path), options_.concurrency);
    spdlog::info("pool: {}", shm_.reason);
    flag_options flags = options_.flags;
    flags.pages_per_browser = (options_.concurrency + options_.browsers - 1) / options_.browsers;
    flags_ = launch_flags(flags, shm_);
    auto& st = *state_;
    st.flags = flags_;
    st.totals.shm = shm_.reason;
    st.totals.flags = flags_;
    st.slots.resize(options_.concurrency);

    // First launches in parallel; the pool starts if at least one browser came up.
    std::vector<std::future<std::unique_ptr<cdp::browser>>> launches;
    for (std::size_t i = 0; i < options_.browsers; ++i) {
        launches.push_back(std::async(std::launch::async, [o = st.browser_options()]() mutable {
            return cdp::browser::launch(std::move(o));
        }));
    }
    std::string first_error;
    std::vector<std::shared_ptr<browser_entry>> failed;
    for (auto& l : launches) {
        auto b = std::make_shared<browser_entry>();
        b->id = ++st.next_browser_id;
        try {
            b->b = l.get();
            b->st = browser_state::ready;
        } catch (const std::exception& e) {
            if (first_error.empty()) first_error = e.what();
            ++st.totals.launch_failures;
            failed.push_back(b);
        }
        st.browsers.push_back(b);
    }
    if (failed.size() == options_.browsers) {
        for (auto& b : st.browsers) b.reset();
        st.work.reset();
        throw cdp::error(cdp::errc::launch_failed, "pool: no browser started: " + first_error);
    }
    st.thread = std::thread([&st] { st.io.run(); });
    asio::post(st.io, [&st, failed] {
        for (auto& b : failed) asio::co_spawn(st.io, st.launch_into(b), asio::detached);
        st.sample();
        st.schedule_sample();
    });
}

browser_pool::~browser_pool() {
    stop();
}

void browser_pool::stop() {
    auto& st = *state_;
    if (!st.thread.joinable()) return;
    std::promise<std::vector<std::unique_ptr<cdp::browser>>> closing;
    asio::post(st.io, [&st, &closing] {
        st.stopping = true;
        st.sampler.cancel();
        st.wake_all();
        std::vector<std::unique_ptr<cdp::browser>> all;
        for (auto& s : st.slots) {
            s.page.reset();
            s.ctx.reset();
            s.browser.reset();
        }
        for (auto& b : st.browsers) {
            if (b->b) all.push_back(std::move(b->b));
        }
        closing.set_value(std::move(all));
    });
    auto browsers = closing.get_future().get();
    std::vector<std::future<void>> closes;
    for (auto& b : browsers) {
        closes.push_back(std::async(std::launch::async, [&b] { b->close(); }));
    }
    for (auto& c : closes) c.get();
    st.blocking.join(); // launches in flight finish; their browsers close with the entries
    st.work.reset();
    st.io.stop();
    st.thread.join();
    st.browsers.clear();
}

asio::awaitable<page_lease> browser_pool::acquire(milliseconds timeout) {
    grant got = co_await asio::co_spawn(state_->io, state_->acquire(timeout), use_awaitable);
    page_lease lease;
    lease.pool_ = this;
    lease.slot_ = got.slot;
    lease.browser_id_ = got.browser_id;
    lease.page_ = std::move(got.page);
    co_return lease;
}

page_lease browser_pool::acquire_blocking(milliseconds timeout) {
    grant got = asio::co_spawn(state_->io, state_->acquire(timeout), asio::use_future).get();
    page_lease lease;
    lease.pool_ = this;
    lease.slot_ = got.slot;
    lease.browser_id_ = got.browser_id;
    lease.page_ = std::move(got.page);
    return lease;
}

void browser_pool::release(std::size_t slot, item_outcome outcome) {
    asio::post(state_->io, [st = state_.get(), slot, outcome] { st->release(slot, outcome); });
}

pool_stats browser_pool::stats() {
    std::promise<pool_stats> p;
    asio::post(state_->io, [&] { p.set_value(state_->snapshot()); });
    return p.get_future().get();
}

std::vector<std::shared_ptr<cdp::client>> browser_pool::clients() {
    std::promise<std::vector<std::shared_ptr<cdp::client>>> p;
    asio::post(state_->io, [&] {
        std::vector<std::shared_ptr<cdp::client>> out;
        for (auto& b : state_->browsers) {
            if (b->b) out.push_back(b->b->cdp());
        }
        p.set_value(std::move(out));
    });
    return p.get_future().get();
}

std::vector<pid_t> browser_pool::browser_pids() {
    std::promise<std::vector<pid_t>> p;
    asio::post(state_->io, [&] {
        std::vector<pid_t> out;
        for (auto& b : state_->browsers) {
            if (b->b) out.push_back(b->b->pid());
        }
        p.set_value(std::move(out));
    });
    return p.get_future().get();
}

bool browser_pool::is_retryable(const std::exception& e) {
    if (const auto* c = dynamic_cast<const cdp::error*>(&e)) {
        return c->kind() == cdp::errc::browser_closed || c->kind() == cdp::errc::target_crashed ||
               c->kind() == cdp::errc::target_closed;
    }
    return false;
}

} // namespace rotor::pool
