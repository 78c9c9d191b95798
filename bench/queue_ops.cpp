// bench/queue_ops: claim+complete jobs/second through rotor's queue with 1 and 8 concurrent
// clients, next to BullMQ add+process of the same number of jobs, same Redis, alternating.
#include "queue/job_queue.hpp"
#include "queue/redis_connection.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

// Redis's own CPU time (user + sys, seconds) from INFO cpu: what one job costs the server.
double redis_cpu_seconds(int port) {
    rotor::queue::redis_options r;
    r.port = port;
    rotor::queue::redis_connection c(r);
    const std::string info = c.command({"INFO", "cpu"}).as_string();
    double total = 0;
    for (const char* field : {"used_cpu_user:", "used_cpu_sys:"}) {
        const auto at = info.find(field);
        if (at != std::string::npos) total += std::stod(info.substr(at + std::strlen(field)));
    }
    return total;
}

json run_rotor(int port, int jobs, int clients, const std::string& prefix) {
    rotor::queue::redis_options r;
    r.port = port;
    rotor::queue::queue_options o;
    o.prefix = prefix;
    o.batch_size = 1;
    const std::string platform = "bench";
    double enqueue_s = 0;
    {
        rotor::queue::job_queue q(r, o);
        rotor::queue::enqueue_request req;
        req.platform = platform;
        const auto t0 = clock_type::now();
        for (int i = 0; i < jobs; i += 1000) {
            req.items.clear();
            for (int j = i; j < std::min(jobs, i + 1000); ++j)
                req.items.push_back(std::to_string(j));
            q.enqueue(req);
        }
        enqueue_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    }
    std::atomic<int> done{0};
    std::vector<std::thread> threads;
    const double cpu0 = redis_cpu_seconds(port);
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
    const double cpu = redis_cpu_seconds(port) - cpu0;
    return {{"jobs_per_s", std::lround(done / seconds)},
            {"redis_cpu_us_per_job", std::lround(cpu * 1e6 / std::max(1, done.load()))},
            {"add_per_s", std::lround(jobs / enqueue_s)},
            {"jobs", done.load()}};
}

json run_bullmq(const std::string& node, const std::string& script, int port, int jobs,
                int clients) {
    const double cpu0 = redis_cpu_seconds(port);
    const std::string command = node + " " + script + " " + std::to_string(port) + " " +
                                std::to_string(jobs) + " " + std::to_string(clients) + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return {{"error", "cannot run node"}};
    std::string out;
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) out += buf.data();
    const int rc = ::pclose(pipe);
    const auto brace = out.rfind('{');
    json r = brace == std::string::npos ? json() : json::parse(out.substr(brace), nullptr, false);
    if (rc != 0 || r.is_discarded() || r.is_null()) return {{"error", out.substr(0, 400)}};
    // Includes BullMQ's adds (rotor's enqueue is outside its window): see add_per_s for scale.
    r["redis_cpu_us_per_job"] = std::lround((redis_cpu_seconds(port) - cpu0) * 1e6 / jobs);
    return r;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Queue throughput: rotor claim+complete vs BullMQ add+process"};
    int port = 6379;
    int jobs = 20000;
    int rounds = 2;
    std::string node = "node";
    std::string script;
    std::vector<int> client_counts{1, 8};
    app.add_option("--redis-port", port)->required();
    app.add_option("--jobs", jobs)->check(CLI::Range(100, 10000000));
    app.add_option("--rounds", rounds)->check(CLI::Range(1, 20));
    app.add_option("--node", node);
    app.add_option("--bullmq-script", script,
                   "bench/peers/queue_ops_bullmq.mjs (empty: no BullMQ)");
    app.add_option("--clients", client_counts, "concurrent client counts to run (default 1 8)");
    CLI11_PARSE(app, argc, argv);

    for (int round = 1; round <= rounds; ++round) {
        for (int clients : client_counts) {
            json line = {
                {"bench", "queue_ops"}, {"impl", "rotor"}, {"clients", clients}, {"round", round}};
            line.update(
                run_rotor(port, jobs, clients,
                          "bench" + std::to_string(round) + "c" + std::to_string(clients) + ":"));
            std::cout << line.dump() << std::endl;
            if (!script.empty()) {
                json peer = {{"bench", "queue_ops"},
                             {"impl", "bullmq"},
                             {"clients", clients},
                             {"round", round},
                             {"jobs", jobs}};
                peer.update(run_bullmq(node, script, port, jobs, clients));
                std::cout << peer.dump() << std::endl;
            }
        }
    }
    return 0;
}
