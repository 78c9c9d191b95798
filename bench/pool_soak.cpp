// bench/pool_soak: scrape N fixture products (every 20th memory-heavy) at concurrency 4 and print
// the PSS of the whole tree (this worker plus every Chromium process) at 10/25/50/75/100% of the
// items, the peak, and items/s; next to plain Playwright doing the same with page/context
// rotation every 10/50 (its tree: node plus its Chromium), alternating in one invocation.
#include "pool/browser_pool.hpp"
#include "pool/memory.hpp"
#include "scrape.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>

namespace {

namespace asio = boost::asio;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;
constexpr std::array<int, 5> marks = {10, 25, 50, 75, 100};

// Every descendant of `root` (by ppid), plus root.
std::vector<pid_t> tree_of(pid_t root) {
    std::map<pid_t, std::vector<pid_t>> children;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream in(entry.path() / "stat");
        std::string line;
        if (!std::getline(in, line)) continue;
        const auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(line.substr(close + 2));
        char state = 0;
        long ppid = 0;
        rest >> state >> ppid;
        children[static_cast<pid_t>(ppid)].push_back(static_cast<pid_t>(std::stol(name)));
    }
    std::vector<pid_t> out{root};
    for (std::size_t i = 0; i < out.size(); ++i) {
        for (pid_t c : children[out[i]]) out.push_back(c);
    }
    return out;
}

// Busy CPU seconds of the whole machine since boot (the bench runs alone on it; noisy).
double machine_cpu_seconds() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
    in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
    return static_cast<double>(user + nice + system + irq + softirq) /
           static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct run_figures {
    std::map<int, double> at;
    double peak = 0;
    double steady = 0;
    double items_per_s = 0;
    double cpu_s_per_100 = 0;
    std::size_t failed = 0;
    std::size_t processes_peak = 0;
    int items_at_peak = -1; // -1: not known (the peer's progress is not tracked)
    std::size_t processes_at_peak = 0;
};

// --profile: every lease asks for a page profile listing the shop's host (the host rule on).
rotor::cdp::page_profile soak_profile = rotor::pool::browser_pool::open_profile();

// --trace FILE: every sample as "seconds items_done processes pss_mb".
std::FILE* trace_file = nullptr;

// Samples PSS of `pids()` every 250 ms for the peak; marks are taken by the caller.
class sampler {
  public:
    explicit sampler(std::function<std::vector<pid_t>()> pids) : pids_(std::move(pids)) {
        thread_ = std::thread([this] {
            while (!stop_) {
                sample();
                std::this_thread::sleep_for(std::chrono::milliseconds(250));
            }
        });
    }
    ~sampler() {
        stop_ = true;
        thread_.join();
    }
    double sample() {
        const auto pids = pids_();
        const double pss = rotor::pool::pss_mib(pids);
        std::lock_guard lock(mutex_);
        if (pss > peak_) {
            peak_ = pss;
            processes_at_peak_ = pids.size();
            const auto* progress = progress_.load();
            items_at_peak_ = progress != nullptr ? progress->load() : 0;
        }
        processes_peak_ = std::max(processes_peak_, pids.size());
        all_.push_back(pss);
        if (trace_file != nullptr) {
            const auto* progress = progress_.load();
            std::fprintf(trace_file, "%.2f %d %zu %.0f\n",
                         std::chrono::duration<double>(clock_type::now() - born_).count(),
                         progress != nullptr ? progress->load() : -1, pids.size(), pss);
            std::fflush(trace_file);
        }
        recent_.emplace_back(clock_type::now(), pss);
        while (!recent_.empty() &&
               clock_type::now() - recent_.front().first > std::chrono::seconds(3)) {
            recent_.pop_front();
        }
        return pss;
    }
    // PSS "at" a point of the run: the median of the samples of the last 3 s (one instant is
    // noise: a memory-heavy page may or may not be alive at that moment).
    double at_mark() {
        sample();
        std::lock_guard lock(mutex_);
        std::vector<double> v;
        for (const auto& [t, pss] : recent_) v.push_back(pss);
        std::sort(v.begin(), v.end());
        return v.empty() ? 0 : v[v.size() / 2];
    }
    double peak() {
        std::lock_guard lock(mutex_);
        return peak_;
    }
    // The level the tree works at: the median of every sample after the first tenth of the run
    // (start-up), so spikes (recycles, context changes) stand out against it.
    double steady() {
        std::lock_guard lock(mutex_);
        std::vector<double> v(all_.begin() + static_cast<std::ptrdiff_t>(all_.size() / 10),
                              all_.end());
        std::sort(v.begin(), v.end());
        return v.empty() ? 0 : v[v.size() / 2];
    }
    std::size_t processes_peak() {
        std::lock_guard lock(mutex_);
        return processes_peak_;
    }
    // Where the peak was: how many items were done then, and how many processes were alive.
    void track_progress(const std::atomic<int>* done) { progress_ = done; }
    std::pair<int, std::size_t> at_peak() {
        std::lock_guard lock(mutex_);
        return {items_at_peak_, processes_at_peak_};
    }

  private:
    std::function<std::vector<pid_t>()> pids_;
    std::mutex mutex_;
    double peak_ = 0;
    std::size_t processes_peak_ = 0;
    std::size_t processes_at_peak_ = 0;
    int items_at_peak_ = 0;
    std::atomic<const std::atomic<int>*> progress_{nullptr};
    std::deque<std::pair<clock_type::time_point, double>> recent_;
    std::vector<double> all_;
    clock_type::time_point born_ = clock_type::now();
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

std::uint64_t id_for(int i, int heavy_every) {
    return (i + 1) % heavy_every == 0 ? 702000 + static_cast<std::uint64_t>(i % 1000)
                                      : 10000 + static_cast<std::uint64_t>(i);
}

// One of `concurrency` workers: takes the next item until none is left (a soak feeds the pool
// like the worker does, instead of queueing every item on acquire at once).
asio::awaitable<void> item_worker(rotor::pool::browser_pool* pool, std::string shop,
                                  std::atomic<int>* next, int items, int heavy_every,
                                  std::atomic<int>* done, std::atomic<int>* failed,
                                  std::function<void(int)>* on_done) {
    for (int i = (*next)++; i < items; i = (*next)++) {
        auto r = co_await rotor::fixture::scrape_product(*pool, shop, id_for(i, heavy_every), 5,
                                                         soak_profile);
        if (!r.error.empty() || r.price == 0) ++*failed;
        (*on_done)(++*done);
    }
}

struct rotor_setup {
    rotor::pool::process_model model = rotor::pool::process_model::lean;
    std::size_t budget_mb = 0;
    std::size_t recycle_every = 500;
    std::size_t renderer_limit = 0;
    std::size_t page_memory_mb = 0;
    std::vector<std::string> add_flags;
    std::vector<std::string> drop_flags;
};

run_figures run_rotor(const std::string& shop, int items, int concurrency, int heavy_every,
                      const rotor_setup& setup) {
    const auto model = setup.model;
    const auto budget_mb = setup.budget_mb;
    const auto recycle_every = setup.recycle_every;
    rotor::pool::pool_options o;
    o.flags.renderer_process_limit = setup.renderer_limit;
    o.rotation.page_memory_mb = setup.page_memory_mb;
    o.flags.extra = setup.add_flags;
    o.flags.remove = setup.drop_flags;
    o.rotation.browser_recycle_every = recycle_every;
    o.rotation.memory_budget_mb = budget_mb;
    o.browsers = 1;
    o.concurrency = static_cast<std::size_t>(concurrency);
    o.flags.model = model;
    rotor::pool::browser_pool pool(o);
    run_figures f;
    sampler s([&pool] {
        std::vector<pid_t> pids = tree_of(::getpid()); // the worker and its Chromium children
        return pids;
    });
    std::atomic<int> done{0};
    std::atomic<int> failed{0};
    s.track_progress(&done);
    std::mutex mutex;
    std::size_t next_mark = 0;
    std::function<void(int)> on_done = [&](int n) {
        std::lock_guard lock(mutex);
        while (next_mark < marks.size() && n * 100 >= marks[next_mark] * items) {
            f.at[marks[next_mark]] = s.at_mark();
            ++next_mark;
        }
    };
    asio::thread_pool runners(2);
    const double cpu0 = machine_cpu_seconds();
    const auto started = clock_type::now();
    std::vector<std::future<void>> futures;
    std::atomic<int> next{0};
    for (int w = 0; w < concurrency; ++w) {
        futures.push_back(asio::co_spawn(
            runners, item_worker(&pool, shop, &next, items, heavy_every, &done, &failed, &on_done),
            asio::use_future));
    }
    for (auto& fu : futures) fu.get();
    const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    f.cpu_s_per_100 = (machine_cpu_seconds() - cpu0) * 100.0 / items;
    f.items_per_s = items / seconds;
    f.peak = s.peak();
    f.steady = s.steady();
    f.processes_peak = s.processes_peak();
    std::tie(f.items_at_peak, f.processes_at_peak) = s.at_peak();
    s.track_progress(nullptr); // `done` dies before the sampler
    f.failed = static_cast<std::size_t>(failed.load());
    runners.join();
    pool.stop();
    return f;
}

run_figures run_playwright(const std::string& node, const std::string& script,
                           const std::string& shop, int items, int concurrency, int heavy_every,
                           std::string& error) {
    run_figures f;
    int out[2];
    if (::pipe(out) != 0) {
        error = "pipe failed";
        return f;
    }
    const double cpu0 = machine_cpu_seconds();
    const auto started = clock_type::now();
    const pid_t child = ::fork();
    if (child == 0) {
        ::dup2(out[1], 1);
        ::close(out[0]);
        const std::string n = std::to_string(items), c = std::to_string(concurrency),
                          h = std::to_string(heavy_every);
        ::execlp(node.c_str(), node.c_str(), script.c_str(), shop.c_str(), n.c_str(), c.c_str(),
                 h.c_str(), nullptr);
        ::_exit(127);
    }
    ::close(out[1]);
    sampler s([child] { return tree_of(child); });
    std::atomic<int> done{0};
    s.track_progress(&done);
    FILE* in = ::fdopen(out[0], "r");
    std::array<char, 512> line{};
    std::size_t next_mark = 0;
    std::string last;
    while (std::fgets(line.data(), line.size(), in) != nullptr) {
        last = line.data();
        int n = 0;
        if (std::sscanf(line.data(), "progress %d", &n) == 1) {
            done = n;
            while (next_mark < marks.size() && n * 100 >= marks[next_mark] * items) {
                f.at[marks[next_mark]] = s.at_mark();
                ++next_mark;
            }
        }
    }
    std::fclose(in);
    int status = 0;
    ::waitpid(child, &status, 0);
    const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    f.cpu_s_per_100 = (machine_cpu_seconds() - cpu0) * 100.0 / items;
    f.items_per_s = items / seconds;
    f.peak = s.peak();
    f.steady = s.steady();
    f.processes_peak = s.processes_peak();
    std::tie(f.items_at_peak, f.processes_at_peak) = s.at_peak();
    s.track_progress(nullptr); // `done` dies before the sampler
    const json result = json::parse(last, nullptr, false);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || result.is_discarded()) {
        error = "playwright run failed (exit " + std::to_string(WEXITSTATUS(status)) + "): " + last;
    } else {
        f.failed = result.value("failed", std::size_t{0});
    }
    return f;
}

std::string bench_name = "pool_soak";
std::string variant;

void print(const std::string& impl, const std::string& round, const run_figures& f, int items,
           int concurrency) {
    json line = {{"bench", bench_name},
                 {"impl", impl},
                 {"round", round},
                 {"items", items},
                 {"concurrency", concurrency}};
    if (!variant.empty()) line["variant"] = variant;
    for (int m : marks)
        line["pss_mb_at_" + std::to_string(m)] = std::lround(f.at.count(m) ? f.at.at(m) : 0);
    line["peak_pss_mb"] = std::lround(f.peak);
    line["steady_pss_mb"] = std::lround(f.steady);
    if (f.steady > 0) line["peak_over_steady"] = std::round(f.peak / f.steady * 100) / 100;
    line["items_per_s"] = std::round(f.items_per_s * 100) / 100;
    line["cpu_s_per_100_items"] = std::round(f.cpu_s_per_100 * 100) / 100;
    line["processes_peak"] = f.processes_peak;
    if (f.items_at_peak >= 0) line["items_done_at_peak"] = f.items_at_peak;
    line["processes_at_peak"] = f.processes_at_peak;
    line["failed"] = f.failed;
    const double at25 = f.at.count(25) ? f.at.at(25) : 0;
    if (at25 > 0 && f.at.count(100))
        line["flatness_100_over_25"] = std::round(f.at.at(100) / at25 * 100) / 100;
    std::cout << line.dump() << std::endl;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Pool soak: PSS over a long run, rotor vs Playwright with rotation"};
    std::string shop;
    int items = 3000;
    int concurrency = 4;
    int heavy_every = 20;
    int rounds = 1;
    std::string node = "node";
    std::string script;
    std::vector<std::string> impls = {"rotor", "playwright"};
    rotor_setup setup;
    bool verbose = false;
    app.add_option("--shop", shop, "Fixture shop base URL")->required();
    app.add_option("--items", items)->check(CLI::Range(20, 1000000));
    app.add_option("--concurrency", concurrency)->check(CLI::Range(1, 64));
    app.add_option("--heavy-every", heavy_every)->check(CLI::Range(1, 1000));
    app.add_option("--rounds", rounds)->check(CLI::Range(1, 10));
    app.add_option("--node", node);
    app.add_option("--playwright-script", script, "bench/peers/pool_soak_playwright.mjs");
    app.add_option("--impl", impls, "rotor, rotor-isolated, playwright (alternating, in order)");
    app.add_option("--memory-budget-mb", setup.budget_mb,
                   "rotor's per-browser PSS budget (0: none)");
    app.add_option("--recycle-every", setup.recycle_every, "rotor's browser_recycle_every");
    app.add_option("--page-memory-mb", setup.page_memory_mb,
                   "rotor's page_memory_mb (a bigger page is replaced before its next item)");
    app.add_option("--renderer-limit", setup.renderer_limit,
                   "rotor's --renderer-process-limit (0: pages per browser, at least 2)");
    app.add_option("--add-flag", setup.add_flags, "an extra Chromium flag for rotor (repeatable)");
    app.add_option("--drop-flag", setup.drop_flags,
                   "a flag name or disabled feature taken out of rotor's set (repeatable)");
    app.add_option("--bench-name", bench_name, "the \"bench\" field of the lines");
    app.add_option("--variant", variant, "a label for this setup (a \"variant\" field)");
    app.add_flag("--verbose", verbose, "rotor's pool logs");
    std::string trace;
    app.add_option("--trace", trace, "write every PSS sample to this file");
    bool with_profile = false;
    app.add_flag("--profile", with_profile,
                 "rotor leases pages with a profile that allows only the shop's host");
    CLI11_PARSE(app, argc, argv);
    if (!trace.empty()) trace_file = std::fopen(trace.c_str(), "w");
    if (with_profile) {
        soak_profile = rotor::cdp::page_profile{};
        soak_profile.name = "soak";
        soak_profile.allowed_hosts = {"127.0.0.1"};
    }
    spdlog::set_level(verbose ? spdlog::level::info : spdlog::level::warn);

    for (int r = 1; r <= rounds; ++r) {
        for (const auto& impl : impls) {
            if (impl == "rotor" || impl == "rotor-isolated") {
                setup.model = impl == "rotor" ? rotor::pool::process_model::lean
                                              : rotor::pool::process_model::isolated;
                auto f = run_rotor(shop, items, concurrency, heavy_every, setup);
                print(setup.budget_mb > 0 ? impl + "-budget-" + std::to_string(setup.budget_mb)
                                          : impl,
                      std::to_string(r), f, items, concurrency);
            } else if (impl == "playwright" && !script.empty()) {
                std::string error;
                auto f = run_playwright(node, script, shop, items, concurrency, heavy_every, error);
                if (!error.empty()) {
                    std::cout << json{{"bench", "pool_soak"},
                                      {"impl", "playwright"},
                                      {"error", error}}
                                     .dump()
                              << std::endl;
                } else {
                    print("playwright", std::to_string(r), f, items, concurrency);
                }
            }
        }
    }
    return 0;
}
