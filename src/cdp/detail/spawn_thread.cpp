#include "cdp/detail/spawn_thread.hpp"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

namespace rotor::cdp::detail {
namespace {

class spawn_thread {
  public:
    spawn_thread() : thread_([this] { run(); }) {}
    ~spawn_thread() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }
    spawn_thread(const spawn_thread&) = delete;
    spawn_thread& operator=(const spawn_thread&) = delete;

    pid_t submit(std::function<pid_t()> job) {
        std::packaged_task<pid_t()> task(std::move(job));
        auto result = task.get_future();
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(task));
        }
        cv_.notify_one();
        return result.get();
    }

  private:
    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty()) return;
            auto job = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            job();
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::packaged_task<pid_t()>> jobs_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace

pid_t run_on_spawn_thread(std::function<pid_t()> fork_and_exec) {
    static spawn_thread instance;
    return instance.submit(std::move(fork_and_exec));
}

} // namespace rotor::cdp::detail
