#include "nodes/workflow.hpp"

#include "nodes/jsonl_sink.hpp"

#include <stdexcept>

namespace rotor::nodes {

workflow::workflow(const platform_config& config, scan_services services) {
    for (const auto& spec : config.workflow) {
        if (spec.type == "scan_product") {
            auto n = std::make_unique<scan_product_node>(spec.id, config, services);
            scanner_ = n.get();
            nodes_.push_back(std::move(n));
        } else if (spec.type == "validate") {
            nodes_.push_back(std::make_unique<validate_node>(spec.id, config));
        } else if (spec.type == "save") {
            std::vector<std::shared_ptr<sink>> sinks;
            for (const auto& name : spec.sinks) {
                if (name == "jsonl" && config.jsonl) {
                    sinks.push_back(
                        std::make_shared<jsonl_sink>(config.jsonl->dir, config.platform));
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
