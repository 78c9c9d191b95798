#pragma once
// A Redis stream of saved items for downstream consumers (XADD, trimmed with MAXLEN ~). Each
// record goes in once per (item, outcome) of a run: the repeat a crash between the save and the
// checkpoint causes is not added again.

#include "queue/redis_connection.hpp"

#include <chrono>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace rotor::queue {

struct stream_options {
    std::string key;                                           // the stream
    std::size_t maxlen = 100000;                               // trimmed to about this many entries
    std::chrono::seconds seen_ttl{std::chrono::hours(24 * 7)}; // how long repeats are noticed
};

class result_stream {
  public:
    result_stream(redis_options redis, stream_options options);

    /// Adds `fields` unless (run, item, outcome) was added before. Returns the entry id, or ""
    /// for a repeat. Thread-safe; throws queue::error (redis_unavailable while Redis is away).
    std::string add(const std::string& run, const std::string& item, const std::string& outcome,
                    const std::vector<std::pair<std::string, std::string>>& fields);

    const stream_options& options() const noexcept { return options_; }

  private:
    stream_options options_;
    std::mutex mutex_;
    redis_connection conn_;
    lua_script add_;
};

} // namespace rotor::queue
