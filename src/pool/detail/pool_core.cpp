#include "pool/detail/pool_core.hpp"

#include "pool/zombie_sweep.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <future>

namespace rotor::pool {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

// Failures an acquire tries again (on another or a replacement browser) before its deadline.
bool retry_in_acquire(const std::exception& e) {
    if (browser_pool::is_retryable(e)) return true;
    const auto* c = dynamic_cast<const cdp::error*>(&e);
    return c != nullptr && c->kind() == cdp::errc::timeout; // its browser was marked wedged
}

} // namespace

// One prepare, raced against its acquire's deadline. The acquire gives up at the deadline; the
// prepare goes on and leaves its page in the slot for the next lease, so no work and no slot is
// lost.
struct browser_pool::core::attempt {
    explicit attempt(asio::io_context& io) : signal(io) {}
    asio::steady_timer signal;
    bool finished = false;
    bool abandoned = false;
    std::exception_ptr error;
};

browser_pool::core::core(const pool_options& o, std::vector<std::string> flags,
                         browser_pool* pool_owner)
    : options(o), owner(pool_owner), blocking(std::max<std::size_t>(2, o.browsers + 1)),
      fleet(io, blocking, o, std::move(flags), totals,
            {[this](const std::shared_ptr<detail::browser_entry>& b) { slots.drop_idle_of(b); },
             [this] { publish(); }}),
      slots(io, o, fleet, totals), queue(io.get_executor(), o.concurrency) {}

browser_pool::core::~core() {
    // The thread is joined by now (drain). Coroutine frames still suspended on the io_context are
    // destroyed first, while fleet, slots and the counters their destructors touch still exist.
    if (sampler) sampler->stop();
    work.reset();
    io_storage.reset();
}

void browser_pool::core::start_sampler() {
    // The zombie sweep reads /proc too: it runs on the sampler's thread after a pass, at most
    // every zombie_sweep_interval, one at a time, never on the blocking pool that closes and
    // launches browsers.
    auto last_sweep = std::make_shared<clock_type::time_point>(clock_type::now());
    sampler = std::make_unique<memory_sampler>(
        options.memory_sample_interval,
        [this, last_sweep](std::vector<memory_sampler::reading> r,
                           const std::vector<pid_t>& live_browsers) {
            std::size_t reaped = 0;
            if (clock_type::now() - *last_sweep >= options.zombie_sweep_interval) {
                *last_sweep = clock_type::now();
                reaped = reap_orphaned_chromium(live_browsers);
            }
            post([this, r = std::move(r), reaped]() mutable {
                totals.zombies_reaped += reaped;
                on_memory(std::move(r));
            });
        });
}

void browser_pool::core::start_timers() {
    publish();
}

asio::awaitable<page_lease> browser_pool::core::acquire(cdp::page_profile profile,
                                                        milliseconds timeout) {
    struct done_guard {
        std::atomic<int>& n;
        ~done_guard() { --n; }
    } guard{acquires};
    const auto started = clock_type::now();
    // Bounded, so that a caller's "forever" cannot overflow the clock.
    const auto deadline = started + std::min(timeout, milliseconds(std::chrono::hours(24 * 365)));
    if (stopping) throw error(errc::stopped, "acquire: the pool is stopping");
    if (!fleet.healthy() && !fleet.pick()) {
        throw error(errc::unhealthy,
                    "acquire: browser pool unhealthy: " + fleet.unhealthy_reason());
    }
    auto timed_out = [&](const std::string& where) {
        ++totals.acquire_timeouts;
        publish();
        return error(errc::acquire_timeout,
                     "acquire: no page lease within " + std::to_string(timeout.count()) + " ms (" +
                         where + "; " + std::to_string(totals.leases_active) + " of " +
                         std::to_string(slots.size()) + " leased, " + std::to_string(preparing) +
                         " opening a page, " + std::to_string(queue.waiting()) + " waiting; " +
                         fleet.describe() + ")");
    };
    // A profile that cannot even be keyed (invalid UTF-8 in a field) is refused before it takes
    // a lease: thrown after queue.take() it would keep that lease forever.
    std::string profile_key;
    try {
        profile_key = profile.key();
    } catch (const std::exception& e) {
        throw cdp::error(cdp::errc::invalid_profile,
                         "acquire: page profile cannot be used: " + std::string(e.what()));
    }
    if (queue.in_use() == queue.capacity()) publish(); // one more waiter, for stats readers
    if (!co_await queue.take(deadline)) throw timed_out("waiting for a slot");

    // One of the leases is ours, so a slot is free.
    const std::size_t i = *slots.pick_free(profile_key);
    slots[i].busy = true;
    ++preparing;
    auto at = std::make_shared<attempt>(io);
    asio::co_spawn(io, run_prepare(i, std::move(profile), deadline, at), asio::detached);
    if (!at->finished) {
        at->signal.expires_at(deadline);
        try {
            co_await at->signal.async_wait(asio::use_awaitable);
        } catch (const boost::system::system_error&) {
        }
    }
    if (!at->finished) {
        at->abandoned = true; // the prepare gives the slot back when it ends
        throw timed_out("opening a page");
    }
    if (at->error) std::rethrow_exception(at->error);
    auto& s = slots[i];
    if (stopping) {
        give_back_unused(i);
        throw error(errc::stopped, "acquire: the pool is stopping");
    }
    ++totals.leases_active;
    acquire_wait.observe(clock_type::now() - started);
    publish();
    co_return make_lease(owner, i, ++s.generation, s.browser->id, s.page);
}

asio::awaitable<void> browser_pool::core::run_prepare(std::size_t i, cdp::page_profile profile,
                                                      clock_type::time_point deadline,
                                                      std::shared_ptr<attempt> at) {
    for (;;) {
        std::string retry_reason;
        try {
            co_await slots.prepare(i, profile, deadline);
            break;
        } catch (const std::exception& e) {
            const bool retry =
                retry_in_acquire(e) && !at->abandoned && !stopping && clock_type::now() < deadline;
            if (!retry) {
                at->error = std::current_exception();
                break;
            }
            retry_reason = e.what();
        }
        spdlog::warn("pool: preparing a page failed, trying again: {}", retry_reason);
        fleet.check_connections();
    }
    --preparing;
    if (at->error) {
        slots[i].busy = false;
        queue.give_back();
        check_leases_done();
    } else if (at->abandoned) {
        give_back_unused(i);
    }
    at->finished = true;
    at->signal.cancel();
    publish();
}

// A slot prepared for a lease that nobody took: its page stays for the next lease.
void browser_pool::core::give_back_unused(std::size_t i) {
    auto& s = slots[i];
    s.busy = false;
    if (auto b = s.browser) {
        if (b->active > 0) --b->active;
        fleet.lease_ended(b);
    }
    queue.give_back();
    check_leases_done();
}

void browser_pool::core::release(std::size_t i, std::uint64_t generation, item_outcome outcome) {
    if (i >= slots.size()) return;
    auto& s = slots[i];
    // A release of an earlier lease of this slot (a second release) frees nothing else.
    if (!s.busy || s.generation != generation) return;
    s.busy = false;
    --totals.leases_active;
    auto b = s.browser;
    if (b && b->active > 0) --b->active;
    slots.after_item(i, outcome);
    if (b) fleet.lease_ended(b);
    queue.give_back();
    check_leases_done();
    publish();
}

void browser_pool::core::check_leases_done() {
    if (leases_done && totals.leases_active == 0 && preparing == 0) {
        leases_done->set_value();
        leases_done.reset();
    }
}

void browser_pool::core::on_memory(std::vector<memory_sampler::reading> readings) {
    if (stopping) return;
    double sum = 0;
    for (const auto& r : readings) {
        // A copy: a recycle may take the browser out of the list.
        for (const auto& b : std::list(fleet.browsers())) {
            if (b->id != r.browser_id) continue;
            b->processes = r.processes;
            b->pss_mb = r.pss_mb;
            sum += r.pss_mb;
            if (over_memory_budget(options.rotation, b->pss_mb))
                fleet.recycle(b, detail::recycle_reason::memory);
        }
    }
    totals.pss_mb = sum;
    totals.peak_pss_mb = std::max(totals.peak_pss_mb, sum);
    ++totals.memory_samples;
    fleet.check_connections();
    publish();
}

void browser_pool::core::publish() {
    auto s = std::make_shared<pool_stats>(totals);
    s->waiters = queue.waiting();
    if (fleet.pick() || stopping) {
        no_browser_since = 0;
    } else if (no_browser_since == 0) {
        no_browser_since = clock_type::now().time_since_epoch().count();
    }
    s->healthy = fleet.healthy();
    s->unhealthy_reason = fleet.unhealthy_reason();
    s->stopped = stopping;
    s->command_timeouts = fleet.closed_command_timeouts();
    s->pss_mb = 0;
    std::vector<std::shared_ptr<cdp::client>> clients;
    std::vector<pid_t> pids;
    std::vector<memory_sampler::target> targets;
    for (const auto& b : fleet.browsers()) {
        browser_stats bs;
        bs.id = b->id;
        bs.pid = b->chromium ? b->chromium->pid() : 0;
        bs.state = std::string(detail::to_string(b->state));
        bs.wedged = b->wedged;
        bs.items = b->items;
        bs.active_leases = b->active;
        bs.pages_created = b->pages_created;
        bs.contexts_created = b->contexts_created;
        bs.page_rotations = b->page_rotations;
        bs.context_rotations = b->context_rotations;
        bs.processes = b->processes;
        bs.pss_mb = b->pss_mb;
        s->pss_mb += b->pss_mb;
        if (b->wedged) ++s->wedged_browsers;
        if (b->chromium) {
            s->command_timeouts += b->chromium->cdp()->stats().timeouts;
            clients.push_back(b->chromium->cdp());
            pids.push_back(b->chromium->pid());
            targets.push_back({b->id, b->chromium->process()});
        }
        s->browsers.push_back(std::move(bs));
    }
    if (sampler) sampler->set_targets(std::move(targets));
    std::lock_guard lock(published_mutex);
    published = std::move(s);
    published_clients = std::move(clients);
    published_pids = std::move(pids);
}

} // namespace rotor::pool
