#include "pool_helpers.hpp"

#include "catalog.hpp"
#include "cdp/process.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <iterator>
#include <sstream>
#include <thread>

namespace rotor::test {

namespace asio = boost::asio;
using fixture::scrape_product;
using fixture::scrape_result;
using std::chrono::milliseconds;

pool::pool_options base_options(const std::filesystem::path& profiles) {
    pool::pool_options o;
    o.browser.launch.profile_root = profiles;
    o.browser.command_timeout = std::chrono::seconds(20);
    o.browser.close_grace = milliseconds(1000);
    o.memory_sample_interval = milliseconds(500);
    o.zombie_sweep_interval = milliseconds(500);
    return o;
}

// One item; parameters, not lambda captures, so they live in the coroutine frame.
static asio::awaitable<scrape_result>
counted_item(pool::browser_pool* p, std::string base, std::uint64_t id,
             std::atomic<std::size_t>* done, const std::function<void(std::size_t)>* progress,
             const std::function<void(std::uint64_t, std::uint64_t)>* on_lease) {
    std::function<void(std::uint64_t)> leased;
    if (*on_lease) leased = [on_lease, id](std::uint64_t browser) { (*on_lease)(id, browser); };
    auto r = co_await scrape_product(*p, std::move(base), id, 5, pool::browser_pool::open_profile(),
                                     std::move(leased));
    const auto n = ++*done;
    if (*progress) (*progress)(n);
    co_return r;
}

std::vector<scrape_result>
run_items(pool::browser_pool& p, const std::string& base, const std::vector<std::uint64_t>& ids,
          std::function<void(std::size_t done)> progress,
          std::function<void(std::uint64_t id, std::uint64_t browser_id)> on_lease) {
    // Declared before the runners, so it outlives them: a throwing get() leaves items running
    // until ~thread_pool has joined them, and they count into it.
    std::atomic<std::size_t> done{0};
    asio::thread_pool runners(2);
    std::vector<std::future<scrape_result>> futures;
    for (auto id : ids) {
        futures.push_back(asio::co_spawn(
            runners, counted_item(&p, base, id, &done, &progress, &on_lease), asio::use_future));
    }
    std::vector<scrape_result> out;
    for (auto& f : futures) out.push_back(f.get());
    runners.join();
    return out;
}

std::vector<scrape_result> run_items_in_order(pool::browser_pool& p, const std::string& base,
                                              const std::vector<std::uint64_t>& ids) {
    std::vector<scrape_result> out;
    for (auto id : ids) out.push_back(run_items(p, base, {id}).front());
    return out;
}

pool::pool_stats stats_after(const pool::browser_pool& p, std::size_t items) {
    auto s = p.stats();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (s.items < items && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(milliseconds(5));
        s = p.stats();
    }
    return s;
}

std::string zombie_children() {
    std::string out;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        std::ifstream in(entry.path() / "stat");
        std::string line;
        if (!std::getline(in, line)) continue;
        const auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(line.substr(close + 2));
        char state = 0;
        long ppid = 0;
        long pgid = 0;
        rest >> state >> ppid >> pgid;
        if (state == 'Z' && ppid == ::getpid())
            out += line.substr(0, close + 1) + " pgid " + std::to_string(pgid) + "; ";
    }
    return out;
}

void expect_correct(const std::vector<scrape_result>& results) {
    for (const auto& r : results) {
        const auto p = fixture::product_for(r.id);
        EXPECT_TRUE(r.error.empty()) << r.id << ": " << r.error;
        EXPECT_EQ(r.status, 200) << r.id;
        EXPECT_EQ(r.name, p.name) << r.id;
        EXPECT_EQ(r.price, p.price) << r.id;
        EXPECT_EQ(r.stock, fixture::to_string(p.stock)) << r.id;
    }
}

std::vector<pid_t> renderers_of(pid_t browser_pid) {
    std::vector<pid_t> out;
    for (pid_t pid : cdp::process_group_members(browser_pid)) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
        std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (cmdline.find("--type=renderer") != std::string::npos) out.push_back(pid);
    }
    return out;
}

} // namespace rotor::test
