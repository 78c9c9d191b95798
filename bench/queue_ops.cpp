// bench/queue_ops: claim+complete jobs/second through rotor's queue with 1 and 8 concurrent
// clients, next to BullMQ add+process of the same number of jobs, same Redis, alternating.
#include "queue/job_queue.hpp"
#include "queue/redis_connection.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

// Redis's own CPU time (seconds) from INFO cpu: what one job costs the server. User time is the
// scripts' and commands' work; system time is mostly the per-request socket I/O and wake-ups.

// script_us: the time Redis spent running scripts (INFO commandstats, evalsha and eval), in
// microseconds: the queue's own work, without the socket I/O and wake-ups around each call.
struct redis_cpu {
    double user = 0, sys = 0, script_us = 0;
    double total() const { return user + sys; }
};

redis_cpu redis_cpu_seconds(int port) {
    rotor::queue::redis_options r;
    r.port = port;
    rotor::queue::redis_connection c(r);
    const std::string info =
        c.command({"INFO", "cpu"}).as_string() + c.command({"INFO", "commandstats"}).as_string();
    auto field = [&](const std::string& name) {
        const auto at = info.find(name);
        return at == std::string::npos ? 0.0 : std::stod(info.substr(at + name.size()));
    };
    auto usec = [&](const std::string& command) {
        const auto at = info.find("cmdstat_" + command + ":");
        if (at == std::string::npos) return 0.0;
        const auto u = info.find(",usec=", at);
        return u == std::string::npos ? 0.0 : std::stod(info.substr(u + 6));
    };
    return {field("used_cpu_user:"), field("used_cpu_sys:"), usec("evalsha") + usec("eval")};
}

// Redis CPU per job, in microseconds: total, its user part, and the scripts' own time.
json cpu_figures(const redis_cpu& before, const redis_cpu& after, int jobs) {
    const double n = std::max(1, jobs);
    return {{"redis_cpu_us_per_job", std::lround((after.total() - before.total()) * 1e6 / n)},
            {"redis_user_us_per_job", std::lround((after.user - before.user) * 1e6 / n)},
            {"redis_script_us_per_job",
             std::round((after.script_us - before.script_us) / n * 10) / 10}};
}

// CPU seconds (user + system) of this process, or of its waited-for children.
double cpu_seconds(int who) {
    rusage u{};
    ::getrusage(who, &u);
    auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return secs(u.ru_utime) + secs(u.ru_stime);
}

json run_rotor(int port, int jobs, int items_per_job, int clients, bool keep_done,
               const std::string& prefix) {
    rotor::queue::redis_options r;
    r.port = port;
    rotor::queue::queue_options o;
    o.prefix = prefix;
    o.batch_size = static_cast<std::size_t>(items_per_job);
    o.keep_done_jobs = keep_done;
    const std::string platform = "bench";
    // kept: rotor's default (a done job's hash lives `retention`, 7 days); deleted: dropped at
    // completion, as BullMQ's removeOnComplete {count: 0} does.
    double enqueue_s = 0;
    {
        rotor::queue::job_queue q(r, o);
        rotor::queue::enqueue_request req;
        req.platform = platform;
        const auto t0 = clock_type::now();
        // Ids of the width of a shop's product numbers, items_per_job of them per job; each
        // enqueue call carries whole jobs only (a remainder would be a short extra job).
        const std::int64_t items = static_cast<std::int64_t>(jobs) * items_per_job;
        const std::int64_t step = std::max(1, 50000 / items_per_job) * items_per_job;
        for (std::int64_t i = 0; i < items; i += step) {
            req.items.clear();
            for (std::int64_t j = i; j < std::min(items, i + step); ++j)
                req.items.push_back(std::to_string(1000000 + j));
            q.enqueue(req);
        }
        enqueue_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    }
    std::atomic<int> done{0};
    std::vector<std::thread> threads;
    const redis_cpu cpu0 = redis_cpu_seconds(port);
    const double client0 = cpu_seconds(RUSAGE_SELF);
    const auto t0 = clock_type::now();
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            rotor::queue::job_queue q(r, o);
            const std::string worker = "bench-" + std::to_string(c);
            // A busy worker's loop: complete and claim the next in one round trip.
            auto job = q.claim(platform, worker);
            while (job) {
                job = q.complete_and_claim(*job);
                ++done;
            }
        });
    }
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    const double client_s = cpu_seconds(RUSAGE_SELF) - client0;
    json out = {{"jobs_per_s", std::lround(done / seconds)},
                {"client_cpu_us_per_job", std::lround(client_s * 1e6 / std::max(1, done.load()))},
                {"add_per_s", std::lround(jobs / enqueue_s)},
                {"jobs", done.load()}};
    out.update(cpu_figures(cpu0, redis_cpu_seconds(port), done.load()));
    return out;
}

json run_bullmq(const std::string& node, const std::string& script, int port, int jobs,
                int items_per_job, int clients, const std::string& done) {
    const redis_cpu cpu0 = redis_cpu_seconds(port);
    const double client0 = cpu_seconds(RUSAGE_CHILDREN);
    const std::string command = node + " " + script + " " + std::to_string(port) + " " +
                                std::to_string(jobs) + " " + std::to_string(clients) + " " + done +
                                " " + std::to_string(items_per_job) + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return {{"error", "cannot run node"}};
    std::string out;
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) out += buf.data();
    const int rc = ::pclose(pipe);
    const auto brace = out.rfind('{');
    json r = brace == std::string::npos ? json() : json::parse(out.substr(brace), nullptr, false);
    if (rc != 0 || r.is_discarded() || r.is_null()) return {{"error", out.substr(0, 400)}};
    // The script reads Redis's figures and its own CPU around its processing alone, as rotor's
    // are taken here; these (its adds, node's start, the obliterate at its end included) are
    // the fallback for a script that does not.
    json whole = cpu_figures(cpu0, redis_cpu_seconds(port), jobs);
    whole["figures"] = "whole run"; // replaced by "processing" when the script measured them
    whole["client_cpu_us_per_job"] =
        std::lround((cpu_seconds(RUSAGE_CHILDREN) - client0) * 1e6 / std::max(1, jobs));
    whole.update(r);
    r = whole;
    return r;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n == 0 ? 0 : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Queue throughput: rotor claim+complete vs BullMQ add+process"};
    int port = 6379;
    int jobs = 20000;
    int rounds = 2;
    int items_per_job = 1;
    std::string node = "node";
    std::string placement = "none";
    std::string script;
    std::vector<int> client_counts{1, 8};
    std::vector<std::string> done_modes{"kept", "deleted"};
    app.add_option("--redis-port", port)->required();
    app.add_option("--jobs", jobs)->check(CLI::Range(100, 10000000));
    app.add_option("--rounds", rounds)->check(CLI::Range(1, 20));
    app.add_option("--items-per-job", items_per_job,
                   "product ids each job carries (default 1; a production batch is 50): the "
                   "job's data both queues store, hand over at the claim and parse")
        ->check(CLI::Range(1, 500));
    app.add_option("--node", node);
    app.add_option("--placement", placement,
                   "where bench/queue_ops.sh pinned Redis and the clients (split, shared or "
                   "none), copied into every line")
        ->check(CLI::IsMember({"split", "shared", "none"}));
    app.add_option("--bullmq-script", script,
                   "bench/peers/queue_ops_bullmq.mjs (empty: no BullMQ)");
    app.add_option("--clients", client_counts, "concurrent client counts to run (default 1 8)");
    app.add_option("--done", done_modes,
                   "what happens to a done job (default both): kept = rotor's default, its hash "
                   "kept 7 days (BullMQ: removeOnComplete {age: 7 days}); deleted = rotor "
                   "keep_done_jobs false (BullMQ: removeOnComplete {count: 0})")
        ->check(CLI::IsMember({"kept", "deleted"}));
    CLI11_PARSE(app, argc, argv);
    if (static_cast<std::int64_t>(jobs) * items_per_job > 20'000'000) {
        std::cerr << "queue_ops: --jobs x --items-per-job is at most 20,000,000 ids\n";
        return 2;
    }

    // jobs/s of every round per (impl, clients, done), for the median lines.
    std::map<std::tuple<std::string, int, std::string>, std::vector<double>> per_s;
    for (int round = 1; round <= rounds; ++round) {
        for (const auto& done : done_modes) {
            for (int clients : client_counts) {
                json line = {{"bench", "queue_ops"},
                             {"impl", "rotor"},
                             {"clients", clients},
                             {"done_jobs", done},
                             {"items_per_job", items_per_job},
                             {"placement", placement},
                             {"round", round}};
                line.update(run_rotor(port, jobs, items_per_job, clients, done == "kept",
                                      "bench" + std::to_string(round) + done +
                                          std::to_string(clients) + ":"));
                std::cout << line.dump() << std::endl;
                per_s[{"rotor", clients, done}].push_back(line["jobs_per_s"].get<double>());
                if (script.empty()) continue;
                json peer = {{"bench", "queue_ops"},
                             {"impl", "bullmq"},
                             {"clients", clients},
                             {"done_jobs", done},
                             {"items_per_job", items_per_job},
                             {"placement", placement},
                             {"round", round},
                             {"jobs", jobs}};
                peer.update(run_bullmq(node, script, port, jobs, items_per_job, clients, done));
                std::cout << peer.dump() << std::endl;
                if (peer.contains("jobs_per_s")) {
                    per_s[{"bullmq", clients, done}].push_back(peer["jobs_per_s"].get<double>());
                }
            }
        }
    }
    for (const auto& done : done_modes) {
        for (int clients : client_counts) {
            const double rotor = median(per_s[{"rotor", clients, done}]);
            json line = {{"bench", "queue_ops"},
                         {"impl", "rotor"},
                         {"clients", clients},
                         {"done_jobs", done},
                         {"items_per_job", items_per_job},
                         {"placement", placement},
                         {"round", "median"},
                         {"jobs_per_s", std::lround(rotor)}};
            const auto peer = per_s.find({"bullmq", clients, done});
            if (peer != per_s.end() && !peer->second.empty()) {
                const double bullmq = median(peer->second);
                line["bullmq_jobs_per_s"] = std::lround(bullmq);
                line["ratio_vs_bullmq"] = std::round(rotor / bullmq * 100) / 100;
            }
            std::cout << line.dump() << std::endl;
        }
    }
    return 0;
}
