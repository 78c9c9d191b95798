#pragma once
// A real PostgreSQL server for a test, from Debian's package: initdb in a temp dir, `postgres`
// on a free loopback port, trust authentication for user `rotor`. Run as root (CI), both run as
// the `postgres` (or `nobody`) user, since PostgreSQL refuses to run as root. stop() and start()
// keep the port and the data: a server restart as a test needs it.

#include "temp_dir.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace rotor::test {

class postgres_server {
  public:
    /// initdb and start; throws std::runtime_error (with the server's log) when it cannot.
    postgres_server();
    ~postgres_server();
    postgres_server(const postgres_server&) = delete;
    postgres_server& operator=(const postgres_server&) = delete;

    int port() const noexcept { return port_; }
    /// postgresql://rotor@127.0.0.1:PORT/postgres
    std::string url() const;
    /// Fast shutdown (SIGINT), waited for: connections are cut as in a server restart.
    void stop();
    void start();
    bool running() const noexcept { return pid_ > 0; }
    /// Runs `sql` through psql and returns its unaligned, tuples-only output.
    std::string psql(const std::string& sql) const;

  private:
    pid_t spawn(const std::vector<std::string>& args, const std::string& log) const;
    temp_dir dir_{"rotor-pg"};
    std::string bin_;
    std::string data_;
    uid_t uid_ = 0;
    gid_t gid_ = 0;
    int port_ = 0;
    pid_t pid_ = -1;
};

} // namespace rotor::test
