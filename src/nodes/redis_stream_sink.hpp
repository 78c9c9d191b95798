#pragma once
// Saved items into a Redis stream for downstream consumers (XADD with MAXLEN ~): each entry has
// platform, item, run, outcome and the whole record as JSON. A repeat after a crash between the
// save and the checkpoint is not added twice (queue::result_stream).

#include "nodes/platform_config.hpp"
#include "nodes/sink.hpp"
#include "queue/result_stream.hpp"

namespace rotor::nodes {

class redis_stream_sink final : public sink {
  public:
    redis_stream_sink(const redis_stream_sink_spec& spec, queue::redis_options redis);

    const std::string& name() const noexcept override { return name_; }
    bool takes(const std::string& outcome) const override { return outcomes_.count(outcome) > 0; }
    /// Thread-safe; throws sink_error while Redis is away (after the connection's retries).
    void write(const item_record& record) override;

  private:
    std::string name_ = "redis_stream";
    outcome_set outcomes_;
    queue::result_stream stream_;
};

} // namespace rotor::nodes
