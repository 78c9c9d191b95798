#include "nodes/redis_stream_sink.hpp"

#include "queue/errors.hpp"

namespace rotor::nodes {

redis_stream_sink::redis_stream_sink(const redis_stream_sink_spec& spec, queue::redis_options redis)
    : outcomes_(spec.outcomes),
      stream_(std::move(redis), queue::stream_options{spec.key, spec.maxlen}) {}

void redis_stream_sink::write(const item_record& record) {
    const std::string json =
        record.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    try {
        stream_.add(record.run, record.item, record.outcome,
                    {{"platform", record.platform},
                     {"item", record.item},
                     {"run", record.run},
                     {"outcome", record.outcome},
                     {"record", json}});
    } catch (const queue::error& e) {
        throw sink_error(std::string("redis stream sink: ") + e.what());
    }
}

} // namespace rotor::nodes
