#pragma once
// A real redis-server for a test: its own port and directory, started in SetUp, killed and
// reaped in TearDown. restart() keeps the port and the data directory (AOF), as a crash-and-
// come-back would.

#include "temp_dir.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace rotor::test {

struct redis_server_options {
    bool aof = false;                    // appendonly yes, appendfsync always
    std::string password;                // requirepass (empty: none)
    std::vector<std::string> extra_args; // more redis-server arguments (--rename-command ...)
};

class redis_server {
  public:
    explicit redis_server(redis_server_options options = {});
    ~redis_server();
    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;

    int port() const noexcept { return port_; }
    /// SIGKILL, no shutdown save: what a crash looks like.
    void kill();
    /// SIGSTOP / SIGCONT: an outage in which Redis keeps its data and its clock runs on.
    void pause();
    void resume();
    /// Starts again on the same port with the same data directory.
    void start();
    bool running() const noexcept { return pid_ > 0; }

  private:
    void wait_ready();
    void start_once();
    redis_server_options options_;
    temp_dir dir_{"rotor-redis"};
    int port_ = 0;
    pid_t pid_ = -1;
};

/// A port nobody listens on right now (bound by the kernel, then released).
int free_tcp_port();

/// How often `command` (lower case) ran, read from the text of INFO commandstats (0: never).
long command_calls(const std::string& commandstats, const std::string& command);

} // namespace rotor::test
