#include "nodes/workflow.hpp"

#include "nodes/jsonl_sink.hpp"
#include "nodes/postgres_sink.hpp"
#include "nodes/redis_stream_sink.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace rotor::nodes {

workflow::workflow(const platform_config& config, scan_services services,
                   const queue::redis_options* redis) {
    for (const auto& spec : config.workflow) {
        if (spec.type == "api_fetch") {
            if (services.http == nullptr && !http_) {
                http_ = std::make_unique<http::client>(http_options_for(config));
            }
            external_http_ = services.http;
            auto n = std::make_unique<api_fetch_node>(spec.id, config, *http(), services.limiter,
                                                      *services.blocking);
            fetcher_ = n.get();
            nodes_.push_back(std::move(n));
        } else if (spec.type == "scan_product") {
            auto n = std::make_unique<scan_product_node>(spec.id, config, services);
            scanner_ = n.get();
            nodes_.push_back(std::move(n));
        } else if (spec.type == "validate") {
            nodes_.push_back(std::make_unique<validate_node>(spec.id, config));
        } else if (spec.type == "save") {
            std::vector<std::shared_ptr<sink>> sinks;
            for (const auto& name : spec.sinks) {
                if (name == "jsonl" && config.jsonl) {
                    sinks.push_back(std::make_shared<jsonl_sink>(config.jsonl->dir, config.platform,
                                                                 config.jsonl->outcomes));
                } else if (name == "postgres" && config.postgres) {
                    auto pg = std::make_shared<postgres_sink>(*config.postgres, config.platform);
                    // A table that does not take the mapping throws (a config problem); a
                    // server away now is met again at each write.
                    if (const auto away = pg->probe()) {
                        spdlog::warn("{}: {} (checked again at each write)", config.source, *away);
                    }
                    sinks.push_back(std::move(pg));
                } else if (name == "redis_stream" && config.redis_stream) {
                    if (redis == nullptr) {
                        throw std::invalid_argument(config.source +
                                                    ": a redis_stream sink needs Redis");
                    }
                    sinks.push_back(
                        std::make_shared<redis_stream_sink>(*config.redis_stream, *redis));
                }
            }
            auto n = std::make_unique<save_node>(spec.id, std::move(sinks), *services.blocking);
            saver_ = n.get();
            nodes_.push_back(std::move(n));
        } else {
            throw std::invalid_argument(config.source + ": workflow node " + spec.id + ": type " +
                                        spec.type + " cannot run in this build");
        }
    }
    if (nodes_.empty()) throw std::invalid_argument(config.source + ": the workflow is empty");
}

} // namespace rotor::nodes
