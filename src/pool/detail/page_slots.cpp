#include "pool/detail/page_slots.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

namespace rotor::pool::detail {

namespace asio = boost::asio;

namespace {

// While an acquire opens or checks a page on a browser, that browser is in use: a drain waits
// for it instead of closing the browser under the page being opened.
class opening_guard {
  public:
    opening_guard(fleet& f, std::shared_ptr<browser_entry> b) : fleet_(f), b_(std::move(b)) {
        if (b_) ++b_->opening;
    }
    ~opening_guard() {
        if (!b_) return;
        --b_->opening;
        fleet_.lease_ended(b_);
    }
    opening_guard(const opening_guard&) = delete;
    opening_guard& operator=(const opening_guard&) = delete;

  private:
    fleet& fleet_;
    std::shared_ptr<browser_entry> b_;
};

} // namespace

page_slots::page_slots(asio::io_context& io, const pool_options& options, fleet& browsers,
                       pool_stats& totals)
    : io_(io), options_(options), fleet_(browsers), totals_(totals), slots_(options.concurrency) {}

bool page_slots::usable(const slot_entry& s, const std::string& profile_key) const {
    return s.page && s.browser && s.ctx && !s.ctx->retired && s.ctx->profile_key == profile_key &&
           !s.page->ended() && s.browser->serving();
}

std::optional<std::size_t> page_slots::pick_free(const std::string& profile_key) const {
    std::optional<std::size_t> any;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].busy) continue;
        if (usable(slots_[i], profile_key)) return i;
        if (!any) any = i;
    }
    return any;
}

// How much JavaScript memory the page's renderer holds (heap plus array-buffer storage),
// garbage of documents already left included. That is on purpose: a collection frees it inside
// the process but the process keeps the pages (measured: no lower PSS), while a replaced page
// lets a bloated renderer exit and return everything.
asio::awaitable<page_slots::memory_check>
page_slots::check_memory(std::shared_ptr<cdp::page> page) {
    try {
        const auto usage =
            co_await page->send("Runtime.getHeapUsage", cdp::json::object(), milliseconds(2000));
        const double bytes = usage.value("usedSize", 0.0) + usage.value("backingStorageSize", 0.0);
        co_return bytes > static_cast<double>(options_.rotation.page_memory_mb) * 1048576.0
            ? memory_check::too_big
            : memory_check::fits;
    } catch (const cdp::error& e) {
        // The page or its browser is gone (crash, closed): that says nothing about its memory.
        // Anything else (no answer in time, an error reply) is a page that cannot be checked:
        // replaced all the same, and counted as unanswered.
        co_return browser_pool::is_retryable(e) ? memory_check::gone : memory_check::unanswered;
    } catch (const std::exception&) {
        co_return memory_check::unanswered;
    }
}

asio::awaitable<void> page_slots::prepare(std::size_t i, cdp::page_profile profile,
                                          time_point deadline) {
    const std::string key = profile.key();
    if (usable(slots_[i], key) && options_.rotation.page_memory_mb == 0) {
        ++slots_[i].browser->active; // the lease's
        co_return;
    }
    if (options_.rotation.page_memory_mb > 0 && usable(slots_[i], key)) {
        opening_guard checking(fleet_, slots_[i].browser);
        const auto check = co_await check_memory(slots_[i].page);
        if (check == memory_check::too_big || check == memory_check::unanswered) {
            ++totals_.page_memory_replacements;
            if (check == memory_check::unanswered) ++totals_.page_memory_unanswered;
            drop(i, /*count_rotation=*/false, /*broken=*/check == memory_check::unanswered);
        } else if (check == memory_check::gone) {
            drop(i, false, true);
            fleet_.check_connections();
        }
        if (usable(slots_[i], key)) {
            ++slots_[i].browser->active; // the lease's, before the guard lets a drain see 0
            co_return;
        }
    }
    drop(i, false, false);

    std::shared_ptr<browser_entry> b;
    while (!(b = fleet_.pick())) {
        if (fleet_.stopping()) throw error(errc::stopped, "acquire: the pool is stopping");
        if (!fleet_.healthy()) {
            throw error(errc::unhealthy,
                        "acquire: browser pool unhealthy: " + fleet_.unhealthy_reason());
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            throw error(errc::acquire_timeout,
                        "acquire: no browser came up in time (" + fleet_.describe() + ")");
        }
        co_await fleet_.wait_for_change(deadline);
    }
    opening_guard opening(fleet_, b);
    auto ctx = co_await fleet_.context_for(b, profile);
    ++ctx->open_pages;
    std::shared_ptr<cdp::page> page;
    try {
        page = co_await ctx->ctx->new_page();
        co_await cdp::apply_profile(page, profile);
    } catch (const cdp::error& e) {
        --ctx->open_pages; // a page already made closes its target when destroyed
        // No answer: the browser (or the renderer the page was put in) is stuck.
        if (e.kind() == cdp::errc::timeout) fleet_.mark_wedged(b, e.what());
        throw;
    } catch (...) {
        --ctx->open_pages;
        throw;
    }
    ++b->pages_created;
    ++b->active; // the lease's, before the guard lets a drain see 0
    auto& s = slots_[i];
    s.page = std::move(page);
    s.ctx = std::move(ctx);
    s.browser = std::move(b);
    s.page_items = 0;
}

// Closes the page in the background. A page that will not close in time gets its browser
// recycled (the watchdog). A broken page's scripts are stopped first: a renderer spinning in
// JavaScript would otherwise stay hung, and under a renderer-process limit the next page may be
// put into that very process.
void page_slots::drop(std::size_t i, bool count_rotation, bool broken) {
    auto& s = slots_[i];
    auto page = std::move(s.page);
    auto ctx = std::move(s.ctx);
    auto b = std::move(s.browser);
    s.page.reset();
    s.ctx.reset();
    s.browser.reset();
    s.page_items = 0;
    if (!page) return;
    if (count_rotation && b) {
        ++b->page_rotations;
        ++totals_.page_rotations;
    }
    const bool alive = b && b->connected() && !page->ended();
    asio::co_spawn(
        io_,
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
                std::string failure;
                try {
                    co_await page->close(options_.page_close_timeout);
                } catch (const std::exception& e) {
                    failure = e.what();
                }
                if (!failure.empty() && !fleet_.stopping()) {
                    ++totals_.forced_closes;
                    spdlog::warn("pool: page {} did not close ({}); recycling browser {}",
                                 page->target_id(), failure, b->id);
                    fleet_.mark_wedged(b, "a page did not close");
                }
            }
            if (ctx && ctx->open_pages > 0) --ctx->open_pages;
            if (ctx && ctx->retired && ctx->open_pages == 0 && b && b->connected()) {
                try {
                    co_await ctx->ctx->dispose();
                } catch (const std::exception& e) {
                    spdlog::warn("pool: disposing a context failed: {}", e.what());
                }
            }
        },
        asio::detached);
}

void page_slots::drop_idle_of(const std::shared_ptr<browser_entry>& b) {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (!slots_[i].busy && slots_[i].browser == b) drop(i, false, false);
    }
}

void page_slots::after_item(std::size_t i, item_outcome outcome) {
    auto& s = slots_[i];
    auto b = s.browser;
    auto ctx = s.ctx;
    ++totals_.items;
    ++s.page_items;
    if (ctx) ++ctx->items;
    if (b) ++b->items;
    const bool connected = b && b->connected();
    const bool broken = outcome == item_outcome::broken || outcome == item_outcome::abandoned ||
                        !s.page || s.page->ended() || !connected;
    const auto d = decide_after_item(
        options_.rotation, {s.page_items, ctx ? ctx->items : 0, b ? b->items : 0}, broken);
    if (ctx && d.retire_context && !ctx->retired) {
        ctx->retired = true;
        if (b) {
            auto it = b->contexts.find(ctx->profile_key);
            if (it != b->contexts.end() && it->second == ctx) b->contexts.erase(it);
            ++b->context_rotations;
        }
        ++totals_.context_rotations;
    }
    const bool rotate = d.replace_page || (ctx && ctx->retired);
    if (rotate || broken || (b && !b->serving())) drop(i, rotate && !broken, broken);
    if (!b) return;
    if (!connected) {
        fleet_.handle_dead(b);
    } else if (d.recycle_browser) {
        fleet_.recycle(b, recycle_reason::count);
    }
}

void page_slots::clear() {
    for (auto& s : slots_) {
        s.page.reset();
        s.ctx.reset();
        s.browser.reset();
    }
}

} // namespace rotor::pool::detail
