#include "pool/memory_sampler.hpp"

#include "pool/memory.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace rotor::pool {

using clock_type = std::chrono::steady_clock;

struct memory_sampler::shared {
    std::mutex mutex;
    std::condition_variable wake;
    std::vector<target> targets;
    report_fn report; // cleared by stop(); called under report_mutex
    std::mutex report_mutex;
    bool stopping = false;
    bool poked = false;
    std::atomic<clock_type::rep> last_pass{clock_type::now().time_since_epoch().count()};
    std::atomic<std::uint64_t> passes{0};
    std::promise<void> exited;
    std::thread thread;
};

namespace {

void run(const std::shared_ptr<memory_sampler::shared>& sh, std::chrono::milliseconds interval) {
    for (;;) {
        std::vector<memory_sampler::target> targets;
        {
            std::unique_lock lock(sh->mutex);
            if (sh->stopping) break;
            targets = sh->targets;
        }
        std::vector<memory_sampler::reading> readings;
        std::vector<pid_t> mains;
        for (const auto& t : targets) {
            mains.push_back(t.process->pid());
            // /proc reads answer, never throw (a process that exits meanwhile counts 0); anything
            // else is logged: nothing may escape this thread.
            try {
                const auto pids = t.process->all_pids();
                readings.push_back({t.browser_id, pids.size(), pss_mib(pids)});
            } catch (const std::exception& e) {
                spdlog::warn("pool: memory sample of browser {}: {}", t.browser_id, e.what());
            }
        }
        sh->last_pass = clock_type::now().time_since_epoch().count();
        ++sh->passes;
        {
            std::lock_guard lock(sh->report_mutex);
            if (sh->report) {
                try {
                    sh->report(std::move(readings), mains);
                } catch (const std::exception& e) {
                    spdlog::warn("pool: memory report: {}", e.what());
                }
            }
        }
        std::unique_lock lock(sh->mutex);
        sh->wake.wait_for(lock, interval, [&] { return sh->stopping || sh->poked; });
        sh->poked = false;
        if (sh->stopping) break;
    }
    sh->exited.set_value();
}

} // namespace

memory_sampler::memory_sampler(std::chrono::milliseconds interval, report_fn report)
    : shared_(std::make_shared<shared>()), interval_(interval) {
    shared_->report = std::move(report);
    shared_->thread = std::thread([sh = shared_, interval] { run(sh, interval); });
}

memory_sampler::~memory_sampler() {
    stop();
}

void memory_sampler::set_targets(std::vector<target> targets) {
    std::lock_guard lock(shared_->mutex);
    shared_->targets = std::move(targets);
}

void memory_sampler::poke() {
    {
        std::lock_guard lock(shared_->mutex);
        shared_->poked = true;
    }
    shared_->wake.notify_one();
}

void memory_sampler::stop() {
    {
        std::lock_guard lock(shared_->mutex);
        if (shared_->stopping) return;
        shared_->stopping = true;
    }
    shared_->wake.notify_one();
    {
        // Waits for a report in progress (it only posts); none starts after this.
        std::lock_guard lock(shared_->report_mutex);
        shared_->report = nullptr;
    }
    if (shared_->exited.get_future().wait_for(std::chrono::seconds(1)) ==
        std::future_status::ready) {
        shared_->thread.join();
    } else {
        spdlog::warn("pool: the memory sampler is stuck in a /proc read; leaving it behind");
        shared_->thread.detach();
    }
}

bool memory_sampler::stalled() const {
    return since_last_pass() > 3 * interval_ + std::chrono::seconds(5);
}

clock_type::duration memory_sampler::since_last_pass() const {
    return clock_type::now() - clock_type::time_point(clock_type::duration(shared_->last_pass));
}

std::uint64_t memory_sampler::passes() const {
    return shared_->passes;
}

} // namespace rotor::pool
