#include "app/stop_signals.hpp"

#include <spdlog/spdlog.h>

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

namespace rotor::app {

using std::chrono::milliseconds;

struct stop_signals::state {
    stop_options options;
    sigset_t signals{};
    std::mutex mutex;
    nodes::job_loop* loop = nullptr;
    bool attached_once = false;
    std::atomic<bool> exiting{false};
};

namespace {

[[noreturn]] void end_now(int code) {
    kill_children();
    spdlog::default_logger()->flush();
    std::_Exit(code);
}

/// The forced end: the job back (on a thread of its own, waited for a bounded time), the
/// children killed, exit 1. Called with the state's mutex held, so the loop stays alive.
[[noreturn]] void forced_end(nodes::job_loop* loop, milliseconds budget, const std::string& why) {
    spdlog::warn("worker: {}: giving the job back and exiting now", why);
    if (loop != nullptr) {
        auto done = std::make_shared<std::promise<void>>();
        auto finished = done->get_future();
        std::thread([loop, budget, done] {
            loop->release_now(budget);
            done->set_value();
        }).detach();
        finished.wait_for(2 * budget + milliseconds(200));
    }
    end_now(1);
}

void take_signals(const std::shared_ptr<stop_signals::state>& s) {
    int sig = 0;
    if (sigwait(&s->signals, &sig) != 0) return;
    const auto start = std::chrono::steady_clock::now();
    const auto& o = s->options;
    {
        std::lock_guard lock(s->mutex);
        if (!s->attached_once) {
            spdlog::info("worker {}: signal {} before serving: exiting", o.worker_id, sig);
            end_now(0);
        }
    }
    const auto t = timing_for(o.grace, o.redis_attempt);
    if (o.redis_cutoff) {
        o.redis_cutoff->store(
            std::chrono::duration_cast<milliseconds>((start + t.cutoff_after).time_since_epoch())
                .count());
    }
    {
        std::lock_guard lock(s->mutex);
        spdlog::info("worker {}: signal {}: finishing the items in flight (grace {} ms; a second "
                     "signal exits at once)",
                     o.worker_id, sig, o.grace.count());
        if (s->loop != nullptr) s->loop->stop();
    }
    const auto force_at = start + t.force_after;
    std::string why = "the grace of " + std::to_string(o.grace.count() / 1000) + " s ran out";
    for (;;) {
        const auto left = force_at - std::chrono::steady_clock::now();
        if (left.count() <= 0) break;
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        timespec wait{};
        wait.tv_sec = static_cast<std::time_t>(ns / 1000000000);
        wait.tv_nsec = static_cast<long>(ns % 1000000000);
        if (sigtimedwait(&s->signals, nullptr, &wait) > 0) {
            why = "a second signal";
            // Main may be closing the browsers already: a second signal still ends it now.
            if (s->exiting) end_now(1);
            break;
        }
        if (errno != EINTR) break; // EAGAIN: the time is up (EINTR: a stop/continue, wait on)
    }
    if (s->exiting) return; // main is returning by itself (the grace ran out in its teardown)
    std::lock_guard lock(s->mutex);
    forced_end(s->loop, t.release_budget, why);
}

} // namespace

stop_timing timing_for(milliseconds grace, milliseconds redis_attempt) {
    stop_timing t{};
    // A connect and a command for the forced release, within a quarter of the grace.
    t.release_budget = std::clamp(grace / 4, milliseconds(100), milliseconds(1000));
    t.force_after = std::max(milliseconds(0), grace - 2 * t.release_budget);
    // No Redis retry starts unless one more attempt ends before the forced end.
    t.cutoff_after = std::max(milliseconds(0), t.force_after - redis_attempt);
    return t;
}

stop_signals::stop_signals(stop_options options) : state_(std::make_shared<state>()) {
    state_->options = std::move(options);
    sigemptyset(&state_->signals);
    sigaddset(&state_->signals, SIGINT);
    sigaddset(&state_->signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &state_->signals, nullptr);
    // Detached: it may outlive main's objects, so it holds its state and reaches the loop only
    // under the mutex, which detach() takes before the loop goes.
    std::thread([s = state_] { take_signals(s); }).detach();
}

void stop_signals::attach(nodes::job_loop* loop) {
    std::lock_guard lock(state_->mutex);
    state_->loop = loop;
    state_->attached_once = true;
}

void stop_signals::detach() {
    std::lock_guard lock(state_->mutex);
    state_->loop = nullptr;
}

void stop_signals::exiting() {
    state_->exiting = true;
}

void kill_children() {
    const pid_t self = ::getpid();
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return;
    while (const dirent* e = ::readdir(proc)) {
        char* end = nullptr;
        const long pid = std::strtol(e->d_name, &end, 10);
        if (pid <= 0 || *end != '\0') continue;
        std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
        std::string line;
        if (!std::getline(in, line)) continue;
        const auto close = line.rfind(')');
        if (close == std::string::npos || close + 4 > line.size()) continue;
        std::istringstream rest(line.substr(close + 2));
        char state = 0;
        long ppid = 0;
        rest >> state >> ppid;
        if (ppid != self) continue;
        ::kill(-static_cast<pid_t>(pid), SIGKILL);
        ::kill(static_cast<pid_t>(pid), SIGKILL);
    }
    ::closedir(proc);
}

} // namespace rotor::app
