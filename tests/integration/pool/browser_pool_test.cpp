// The pool against real Chromium and the fixture shop: rotation counted through CDP, memory
// recycling, a browser killed under load, the shm decision on a real small tmpfs.
#include "catalog.hpp"
#include "cdp/process.hpp"
#include "pool/browser_pool.hpp"
#include "pool/memory.hpp"
#include "pool_helpers.hpp"
#include "scrape.hpp"
#include "shop_server.hpp"
#include "temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace rotor::test {
namespace {

namespace asio = boost::asio;
using cdp::json;
using fixture::scrape_result;
using std::chrono::milliseconds;

// Records page targets and contexts as Chromium reports them (Target.targetCreated).
struct target_census {
    std::mutex mutex;
    std::set<std::string> pages;
    std::set<std::string> contexts;
    std::vector<cdp::subscription> subs;

    void watch(const std::shared_ptr<cdp::client>& c) {
        cdp::event_handlers h;
        h.on_event = [this](const json& e) {
            const auto& info = e.value("targetInfo", json::object());
            if (info.value("type", "") != "page") return;
            std::lock_guard lock(mutex);
            pages.insert(info.value("targetId", ""));
            contexts.insert(info.value("browserContextId", ""));
        };
        subs.push_back(c->subscribe("", "Target.targetCreated", std::move(h)));
    }
};

class BrowserPoolTest : public ::testing::Test {
  protected:
    temp_dir profiles_{"rotor-pool"};
    fixture::shop_server shop_;
};

TEST_F(BrowserPoolTest, RotationGivesExactlyTheExpectedPagesAndContexts) {
    auto o = base_options(profiles_.path());
    o.browsers = 1;
    o.concurrency = 1;
    // The page memory limit is off: a check that gets no answer in time replaces a page too,
    // and this test counts pages exactly.
    o.rotation = {10, 20, 0, 0, 0};
    pool::browser_pool p(o);
    target_census census;
    for (auto& c : p.clients()) census.watch(c);

    std::vector<std::uint64_t> ids;
    for (std::uint64_t i = 0; i < 50; ++i) ids.push_back(1000 + i);
    const auto results = run_items(p, shop_.base_url(), ids);
    expect_correct(results);

    // 50 items / 10 per page = 5 pages; items 1-20, 21-40, 41-50 = 3 contexts, the last one
    // cut short by the end of the items.
    std::lock_guard lock(census.mutex);
    EXPECT_EQ(census.pages.size(), 5u);
    EXPECT_EQ(census.contexts.size(), 3u);
    std::set<std::string> served;
    for (const auto& r : results) served.insert(r.target_id);
    EXPECT_EQ(served, census.pages); // every page Chromium made served items, and only those
    const auto stats = stats_after(p, 50);
    EXPECT_EQ(stats.items, 50u);
    EXPECT_EQ(stats.context_rotations, 2u);
}

TEST_F(BrowserPoolTest, APageThatGrewPastItsMemoryLimitIsReplacedBeforeItsNextItem) {
    auto o = base_options(profiles_.path());
    o.concurrency = 1;
    o.rotation = {10, 50, 0, 0, 48};
    pool::browser_pool p(o);
    target_census census;
    for (auto& c : p.clients()) census.watch(c);
    // 702003 holds 160 MB of typed arrays, 702000 64 MB; the others a few MB. In order: with
    // run_items' two runner threads, 702003 could take the lease before 10001 (a sanitizer run
    // saw that, 1 in 4), and the light item then met a page that rightly had to go.
    const auto results =
        run_items_in_order(p, shop_.base_url(), {10001, 702003, 10002, 10003, 702000, 10004});
    for (const auto& r : results) EXPECT_TRUE(r.error.empty()) << r.id << ": " << r.error;
    const auto stats = stats_after(p, results.size());
    // A light page stays, unless its check got no answer in time (a loaded sanitizer run saw
    // one replaced: a page that does not answer is replaced too, and counted as unanswered).
    if (stats.page_memory_unanswered == 0) {
        EXPECT_EQ(results[0].target_id, results[1].target_id);
    }
    EXPECT_NE(results[1].target_id, results[2].target_id) << "the 160 MB page served again";
    EXPECT_NE(results[4].target_id, results[5].target_id) << "the 64 MB page served again";
    // A new page may land in the renderer that still holds the heavy page's garbage and be
    // replaced once more; every replacement is counted and seen by Chromium.
    const auto replaced = stats.page_memory_replacements;
    EXPECT_GE(replaced, 2u);
    EXPECT_LE(replaced, 5u + stats.page_memory_unanswered);
    std::lock_guard lock(census.mutex);
    EXPECT_EQ(census.pages.size(), 1u + replaced);
}

TEST_F(BrowserPoolTest, ConcurrentLeasesRespectRotationLimits) {
    auto o = base_options(profiles_.path());
    o.browsers = 2;
    o.concurrency = 4;
    o.rotation = {10, 50, 0, 0, 0}; // page memory limit off: pages are counted exactly
    pool::browser_pool p(o);
    target_census census;
    for (auto& c : p.clients()) census.watch(c);
    std::vector<std::uint64_t> ids;
    for (std::uint64_t i = 0; i < 120; ++i) ids.push_back(2000 + i);
    const auto results = run_items(p, shop_.base_url(), ids);
    expect_correct(results);
    std::map<std::string, int> per_page;
    std::map<std::string, int> per_context;
    std::set<std::uint64_t> browsers;
    for (const auto& r : results) {
        ++per_page[r.target_id];
        ++per_context[r.context_id];
        browsers.insert(r.browser_id);
    }
    for (const auto& [page, n] : per_page) EXPECT_LE(n, 10) << page;
    // A context retires at 50; leases already in flight on its pages may finish there.
    for (const auto& [ctx, n] : per_context) EXPECT_LE(n, 50 + 3) << ctx;
    EXPECT_GE(per_page.size(), 12u);
    EXPECT_EQ(browsers.size(), 2u); // both browsers served
    std::lock_guard lock(census.mutex);
    EXPECT_EQ(census.pages.size(), per_page.size());
}

TEST_F(BrowserPoolTest, MemoryBudgetRecyclesBrowsersAndEveryItemCompletes) {
    auto o = base_options(profiles_.path());
    o.browsers = 1;
    o.concurrency = 2;
    o.memory_sample_interval = milliseconds(250);
    // The budget sits 130 MB above what a browser tree serving light items takes on this machine
    // and build, measured first: a live 160 MB page crosses it. (A fixed 650 MB did not always:
    // the lean flags keep a tree near 300-450 MB, and a sanitizer run saw no recycle.) The page
    // memory limit is off: it replaces heavy pages early, and this test is about the budget.
    std::size_t light_mb = 0;
    {
        auto light = o;
        light.rotation = {10, 50, 0, 0, 0};
        pool::browser_pool warm(light);
        expect_correct(run_items(warm, shop_.base_url(), {3000, 3001, 3002, 3003, 3004, 3005}));
        for (int i = 0; i < 40 && light_mb == 0; ++i) {
            std::this_thread::sleep_for(milliseconds(100));
            const auto s = warm.stats();
            if (!s.browsers.empty()) light_mb = static_cast<std::size_t>(s.browsers[0].pss_mb);
        }
    }
    ASSERT_GT(light_mb, 0u) << "no PSS sample of the light tree";
    const std::size_t budget = light_mb + 130;
    o.rotation = {10, 50, 0, budget, 0};
    pool::browser_pool p(o);
    std::vector<std::uint64_t> ids;
    for (std::uint64_t i = 0; i < 24; ++i) {
        // memory_heavy_mb(id) is 160 for id % 4 == 3
        ids.push_back(i % 2 == 0
                          ? fixture::first_id(fixture::product_kind::memory_heavy) + 4 * i + 3
                          : 3000 + i);
    }
    const auto results = run_items(p, shop_.base_url(), ids);
    expect_correct(results);
    auto stats = p.stats();
    EXPECT_GE(stats.recycles_by_memory, 1u);

    // Settle: the last heavy pages may still push a browser over budget; wait until one ready
    // browser stays under it for three samples in a row.
    int calm = 0;
    for (int i = 0; i < 100 && calm < 3; ++i) {
        std::this_thread::sleep_for(milliseconds(300));
        stats = p.stats();
        const bool settled = stats.browsers.size() == 1 && stats.browsers[0].state == "ready" &&
                             stats.browsers[0].pss_mb > 0 &&
                             stats.browsers[0].pss_mb < static_cast<double>(budget);
        calm = settled ? calm + 1 : 0;
    }
    ASSERT_EQ(stats.browsers.size(), 1u) << "browsers after the run";
    const auto pids = p.browser_pids();
    ASSERT_EQ(pids.size(), 1u);
    // Every Chromium process under our profile root belongs to the live browser; no zombies.
    const auto group = cdp::process_group_members(pids[0]);
    for (pid_t pid : cdp::processes_mentioning(profiles_.path().string())) {
        const char state = cdp::process_state(pid);
        EXPECT_NE(state, 'Z') << "zombie " << pid;
        if (state == 0) continue;
        const bool crashpad = std::find(group.begin(), group.end(), pid) == group.end();
        if (crashpad) {
            // crashpad handlers of the live browser only: they name its run directory
            std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
            std::string text((std::istreambuf_iterator<char>(cmd)), {});
            EXPECT_NE(text.find("chrome_crashpad_handler"), std::string::npos) << pid;
        }
    }
    // No dead child of ours is left unreaped.
    // No dead child of ours is left unreaped (0: children exist, none has exited; -1: none).
    EXPECT_EQ(zombie_children(), "");
}

// New pages go to the browser with the fewest leases and pages being opened: counted by leases
// alone (a lease counts once its page is open), pages opened together, at start-up or after a
// recycle, all went to the first browser and stayed there until they rotated.
TEST_F(BrowserPoolTest, PagesOpenedTogetherAreSpreadOverTheBrowsers) {
    auto o = base_options(profiles_.path());
    o.browsers = 2;
    o.concurrency = 4;
    pool::browser_pool p(o);
    const auto ready = [&] {
        const auto st = p.stats();
        return std::count_if(st.browsers.begin(), st.browsers.end(),
                             [](const auto& b) { return b.state == "ready"; });
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (ready() < 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(milliseconds(50));
    }
    ASSERT_EQ(ready(), 2) << "both browsers never came up";
    std::vector<pool::page_lease> leases(4);
    std::vector<std::string> errors(4);
    {
        std::vector<std::jthread> takers;
        for (std::size_t i = 0; i < leases.size(); ++i) {
            takers.emplace_back([&, i] {
                try {
                    leases[i] = p.acquire_blocking(std::chrono::seconds(30));
                } catch (const std::exception& e) {
                    errors[i] = e.what();
                }
            });
        }
    }
    for (const auto& e : errors) ASSERT_TRUE(e.empty()) << e;
    std::map<std::uint64_t, int> per_browser;
    for (const auto& l : leases) ++per_browser[l.browser_id()];
    EXPECT_EQ(per_browser.size(), 2u) << "every page went to one browser";
    for (const auto& [browser, n] : per_browser) EXPECT_EQ(n, 2) << "browser " << browser;
    for (auto& l : leases) l.release(pool::item_outcome::ok);
}

TEST_F(BrowserPoolTest, KilledBrowserUnderLoadLosesNoItem) {
    auto o = base_options(profiles_.path());
    o.browsers = 2;
    o.concurrency = 4;
    o.rotation = {10, 50, 0, 0};
    pool::browser_pool p(o);
    std::atomic<bool> killed{false};
    std::atomic<pid_t> victim_pid{0};
    std::atomic<std::uint64_t> caught{0};
    std::jthread killer; // joined on every way out, an exception from run_items included
    std::vector<std::uint64_t> ids;
    for (std::uint64_t i = 0; i < 60; ++i) ids.push_back(4000 + i);
    // Slow products (the shop answers after 1-3 s), among the others from the 21st item on: the
    // first one leased picks the victim, its own browser, which is killed 300 ms into the
    // navigation, with this item certainly in it and the other leases out. (Killing on a stats
    // snapshot that showed leases on the victim could hit leases still being prepared, which the
    // pool re-serves unseen: no item was then retried, and the test failed about one run in 30.)
    const std::uint64_t slow = fixture::first_id(fixture::product_kind::slow);
    ids.insert(ids.begin() + 20, {slow, slow + 1, slow + 2, slow + 3});
    const auto results =
        run_items(p, shop_.base_url(), ids, {}, [&](std::uint64_t id, std::uint64_t browser) {
            if (id < slow || id > slow + 3 || killed.exchange(true)) return;
            for (const auto& b : p.stats().browsers) {
                if (b.id == browser) victim_pid = b.pid;
            }
            caught = id;
            killer = std::jthread([&] {
                std::this_thread::sleep_for(milliseconds(300));
                if (victim_pid > 1) ::kill(-victim_pid, SIGKILL); // never kill(-1)
            });
        });
    if (killer.joinable()) killer.join();
    ASSERT_TRUE(killed.load()) << "no slow product was leased";
    const pid_t victim = victim_pid;
    ASSERT_GT(victim, 1) << "the leased browser was not in the stats";
    expect_correct(results); // all 64 complete, with the right data
    int retried = 0;
    for (const auto& r : results) retried += r.retries;
    EXPECT_GE(retried, 1) << "no item was caught in the killed browser";
    for (const auto& r : results) {
        if (r.id == caught) {
            EXPECT_GE(r.retries, 1) << "the item in the killed browser, " << r.id;
        }
    }
    // Back to full size: two ready browsers, the victim replaced.
    pool::pool_stats stats;
    for (int i = 0; i < 150; ++i) {
        stats = p.stats();
        const auto ready = std::count_if(stats.browsers.begin(), stats.browsers.end(),
                                         [](const auto& b) { return b.state == "ready"; });
        if (ready == 2) break;
        std::this_thread::sleep_for(milliseconds(100));
    }
    EXPECT_EQ(std::count_if(stats.browsers.begin(), stats.browsers.end(),
                            [](const auto& b) { return b.state == "ready"; }),
              2);
    EXPECT_GE(stats.restarts, 1u);
    const auto pids = p.browser_pids();
    EXPECT_EQ(std::count(pids.begin(), pids.end(), victim), 0);
    // Every process of the victim is gone and reaped: none left, not even as a zombie.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while ((!cdp::process_group_members(victim).empty() || !zombie_children().empty()) &&
           std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(milliseconds(100));
    }
    EXPECT_TRUE(cdp::process_group_members(victim).empty());
    EXPECT_EQ(zombie_children(), "");
    RecordProperty("retried_items", retried);
}

TEST_F(BrowserPoolTest, AcquireTimesOutAndServesWaitersInOrder) {
    auto o = base_options(profiles_.path());
    o.concurrency = 1;
    pool::browser_pool p(o);
    auto held = p.acquire_blocking(std::chrono::seconds(10));
    const auto started = std::chrono::steady_clock::now();
    try {
        p.acquire_blocking(milliseconds(300));
        FAIL() << "a second lease was handed out with concurrency 1";
    } catch (const pool::error& e) {
        EXPECT_EQ(e.kind(), pool::errc::acquire_timeout);
        EXPECT_NE(std::string(e.what()).find("within 300 ms"), std::string::npos) << e.what();
    }
    EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(300));

    std::mutex mutex;
    std::vector<int> order;
    std::vector<std::thread> waiters;
    for (int i = 0; i < 3; ++i) {
        waiters.emplace_back([&, i] {
            auto lease = p.acquire_blocking(std::chrono::seconds(20));
            {
                std::lock_guard lock(mutex);
                order.push_back(i);
            }
            lease.release();
        });
        // Queue them in a known order: the next one starts once this one waits in line.
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (p.stats().waiters < static_cast<std::size_t>(i + 1) &&
               std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(milliseconds(2));
        }
        ASSERT_EQ(p.stats().waiters, static_cast<std::size_t>(i + 1));
    }
    held.release();
    for (auto& t : waiters) t.join();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST_F(BrowserPoolTest, AnAbandonedLeaseGetsAFreshPage) {
    auto o = base_options(profiles_.path());
    o.concurrency = 1;
    o.rotation.page_memory_mb = 0; // an unanswered heap check would replace the page too
    pool::browser_pool p(o);
    std::string first;
    {
        auto lease = p.acquire_blocking(std::chrono::seconds(10));
        first = lease.page().target_id();
        // dropped without release(): the item may have left the page in any state
    }
    auto lease = p.acquire_blocking(std::chrono::seconds(10));
    EXPECT_NE(lease.page().target_id(), first);
    lease.release();
    std::string second;
    {
        auto again = p.acquire_blocking(std::chrono::seconds(10));
        second = again.page().target_id();
        again.release(pool::item_outcome::ok);
    }
    auto third = p.acquire_blocking(std::chrono::seconds(10));
    EXPECT_EQ(third.page().target_id(), second); // released ok: the page is reused
}

// A page whose renderer spins in JavaScript is stopped before it is closed: the next page (which
// a renderer-process limit may put into the same process) works.
TEST_F(BrowserPoolTest, ABrokenPageSpinningInJavaScriptDoesNotHangTheNextOne) {
    auto o = base_options(profiles_.path());
    o.concurrency = 1;
    pool::browser_pool p(o);
    {
        auto lease = p.acquire_blocking(std::chrono::seconds(10));
        cdp::navigate_options nav;
        nav.wait = cdp::wait_until::commit;
        asio::thread_pool runner(1);
        asio::co_spawn(runner, lease.page().navigate(shop_.base_url() + "/product/703001", nav),
                       asio::use_future)
            .get();
        // Released once the loop has begun (its beacon reached the shop), so that the pool's
        // Runtime.terminateExecution meets it: 300 ms after the commit, as before, was not
        // always enough on a loaded machine, and a loop that starts after the termination holds
        // its renderer, where the next page of the same site may be put (CI run 31: that
        // page's Page.enable waited 20 s, then the browser was recycled).
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (shop_.stats()["requests_by_route"].value("spin_started", 0) == 0 &&
               std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(milliseconds(20));
        }
        ASSERT_EQ(shop_.stats()["requests_by_route"].value("spin_started", 0), 1)
            << "the page's loop never began";
        lease.release(pool::item_outcome::broken);
        runner.join();
    }
    const auto started = std::chrono::steady_clock::now();
    expect_correct(run_items(p, shop_.base_url(), {10001, 10002}));
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
    EXPECT_EQ(p.stats().forced_closes, 0u);
}

// The slot-leak watchdog: a page in a browser that does not answer at all (SIGSTOP; Chromium
// itself closes a page whose renderer is frozen) misses its close deadline; the pool counts it,
// opens no more pages in that browser, recycles it, and the slot serves the next item from the
// replacement.
TEST_F(BrowserPoolTest, APageThatWillNotCloseIsForcedOutAndItsSlotServesAgain) {
    auto o = base_options(profiles_.path());
    o.concurrency = 1;
    o.page_close_timeout = milliseconds(1500);
    pool::browser_pool p(o);
    const auto first_pid = p.browser_pids().at(0);
    expect_correct(run_items(p, shop_.base_url(), {10001}));
    auto frozen = renderers_of(first_pid);
    ASSERT_FALSE(frozen.empty());
    frozen.push_back(first_pid);
    {
        auto lease = p.acquire_blocking(std::chrono::seconds(10));
        for (pid_t pid : frozen) ::kill(pid, SIGSTOP);
        lease.release(pool::item_outcome::broken);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    pool::pool_stats st = p.stats();
    while (st.forced_closes == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(milliseconds(100));
        st = p.stats();
    }
    EXPECT_EQ(st.forced_closes, 1u);
    EXPECT_EQ(st.recycles_by_hang, 1u);
    // The slot is back: the next items are served (by the replacement browser).
    expect_correct(run_items(p, shop_.base_url(), {10002, 10003}));
    EXPECT_NE(p.browser_pids().at(0), first_pid) << "the hung page's browser was not recycled";
    EXPECT_EQ(p.browser_pids().size(), 1u);
    p.stop();
    for (pid_t pid : frozen) EXPECT_NE(::kill(pid, 0), 0) << "stopped renderer " << pid << " left";
    EXPECT_EQ(zombie_children(), "");
}

TEST_F(BrowserPoolTest, NoBrowserAtAllIsAClearError) {
    auto o = base_options(profiles_.path());
    o.browser.launch.chromium_path = "/nonexistent/chromium";
    try {
        pool::browser_pool p(o);
        FAIL() << "a pool without a browser started";
    } catch (const cdp::error& e) {
        EXPECT_EQ(e.kind(), cdp::errc::launch_failed);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/chromium"), std::string::npos);
    }
}

// A real small tmpfs stands in for Docker's 64 MB /dev/shm.
class small_tmpfs {
  public:
    explicit small_tmpfs(const std::filesystem::path& where) : path_(where / "shm") {
        std::filesystem::create_directories(path_);
        mounted_ = ::mount("tmpfs", path_.c_str(), "tmpfs", 0, "size=64m") == 0;
    }
    ~small_tmpfs() {
        if (mounted_) ::umount(path_.c_str());
    }
    bool mounted() const { return mounted_; }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
    bool mounted_ = false;
};

bool cmdline_has(pid_t pid, const std::string& flag) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    return text.find(flag + '\0') != std::string::npos;
}

TEST_F(BrowserPoolTest, SmallShmAddsDisableDevShmUsage) {
    small_tmpfs shm(profiles_.path());
    if (!shm.mounted()) GTEST_SKIP() << "mounting a tmpfs needs root (CAP_SYS_ADMIN)";
    const auto info = pool::read_shm(shm.path());
    EXPECT_EQ(info.size_mb, 64u);
    auto o = base_options(profiles_.path() / "profiles");
    o.shm_path = shm.path();
    o.concurrency = 4;
    pool::browser_pool p(o);
    EXPECT_TRUE(p.shm().disable_dev_shm_usage) << p.shm().reason;
    EXPECT_TRUE(cmdline_has(p.browser_pids().front(), "--disable-dev-shm-usage"));
    EXPECT_NE(p.stats().shm.find("< 512 MB"), std::string::npos);
}

TEST_F(BrowserPoolTest, LargeShmKeepsSharedMemory) {
    temp_dir big("rotor-bigshm"); // the disk: tens of GB free
    auto o = base_options(profiles_.path());
    o.shm_path = big.path();
    pool::browser_pool p(o);
    EXPECT_FALSE(p.shm().disable_dev_shm_usage) << p.shm().reason;
    EXPECT_FALSE(cmdline_has(p.browser_pids().front(), "--disable-dev-shm-usage"));
}

} // namespace
} // namespace rotor::test
