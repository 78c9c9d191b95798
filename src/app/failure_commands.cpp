#include "app/failure_commands.hpp"

#include "queue/enqueue_writer.hpp"
#include "queue/errors.hpp"

#include <ostream>
#include <set>

namespace rotor::app {

namespace {

/// The ids of a group's jobs ({group}-{first} ..); throws not_found for no such group.
std::vector<std::string> group_jobs(queue::job_queue& q, const std::string& group) {
    const auto g = q.progress(group);
    std::vector<std::string> ids;
    for (std::int64_t i = g.first; i < g.first + g.total; ++i)
        ids.push_back(group + "-" + std::to_string(i));
    return ids;
}

nlohmann::json record_of(const std::string& job, const queue::failure_record& f) {
    return {{"job", job},
            {"index", f.index},
            {"item", f.item},
            {"error", f.error},
            {"timestamp_ms", f.timestamp_ms}};
}

} // namespace

int run_failures(queue::job_queue& q, const queue::keys& keys, const std::string& job,
                 const std::string& group, printer& out) {
    if (job.empty() == group.empty())
        throw queue::error(queue::errc::invalid_argument,
                           "failures: give exactly one of --job and --group");
    if (!job.empty()) {
        const auto failures = q.failures(job);
        // A finished job's hash may have expired before its failures list: either one shows
        // that the job existed.
        if (failures.empty() && q.command({"EXISTS", keys.job(job)}).as_integer() == 0)
            throw queue::error(queue::errc::not_found, "job " + job + " does not exist");
        for (const auto& f : failures) out.line(record_of(job, f));
        return 0;
    }
    for (const auto& id : group_jobs(q, group)) {
        for (const auto& f : q.failures(id)) out.line(record_of(id, f));
    }
    return 0;
}

int run_retry_failed(queue::job_queue& q, const queue::keys& keys, const std::string& group,
                     std::string key, printer& out, std::ostream& err) {
    const auto jobs = group_jobs(q, group);
    std::string platform;
    std::string workflow;
    std::vector<queue::enqueue_item> items;
    std::set<std::string> taken; // an item enqueued twice in the group is retried once
    for (const auto& id : jobs) {
        const auto failures = q.failures(id);
        if (failures.empty()) continue;
        const auto f = q.command({"HMGET", keys.job(id), "platform", "workflow_id", "params"});
        nlohmann::json params;
        if (f.elements.size() == 3 && !f.elements[0].is_nil()) {
            if (platform.empty()) platform = f.elements[0].as_string();
            if (workflow.empty() && !f.elements[1].is_nil()) workflow = f.elements[1].as_string();
            if (!f.elements[2].is_nil())
                params = nlohmann::json::parse(f.elements[2].as_string(), nullptr, false);
        }
        for (const auto& failure : failures) {
            if (!taken.insert(failure.item).second) continue;
            queue::enqueue_item item{failure.item, nullptr};
            // The values the item was enqueued with (params.item_data, by index), when its job
            // still holds them and the index is this item's.
            if (params.is_object() && params.contains("product_ids") &&
                params["product_ids"].is_array() && failure.index < params["product_ids"].size()) {
                const auto& original = params["product_ids"][failure.index];
                const std::string text =
                    original.is_string() ? original.get<std::string>() : original.dump();
                const auto data = params.find("item_data");
                if (text == failure.item && data != params.end() && data->is_array() &&
                    failure.index < data->size() && (*data)[failure.index].is_object()) {
                    item.data = (*data)[failure.index];
                }
            }
            items.push_back(std::move(item));
        }
    }
    if (items.empty()) {
        out.line({{"group", group}, {"failed_items", 0}, {"enqueued", false}});
        return 0;
    }
    if (platform.empty())
        throw queue::error(queue::errc::not_found, "retry-failed: the jobs of group " + group +
                                                       " are gone: their platform is unknown");
    queue::enqueue_target target;
    target.platform = platform;
    target.workflow_id = workflow.empty() ? platform + "-update-v2" : workflow;
    if (key.empty()) key = "retry-failed:" + group;
    if (const auto problem = queue::idempotency_key_problem(key)) {
        err << "rotorctl: retry-failed: " << *problem << " (no idempotency key used)\n";
        key.clear();
    }
    target.idempotency_key = key;
    queue::enqueue_writer writer(q, target);
    writer.expect(items.size());
    for (auto& item : items) writer.add(std::move(item));
    const auto s = writer.finish();
    out.line({{"group", group},
              {"failed_items", s.items},
              {"enqueued", true},
              {"new_group", s.group_id},
              {"jobs", s.jobs},
              {"replayed", s.replayed_chunks > 0},
              {"idempotency_key", s.idempotency_key}});
    return 0;
}

} // namespace rotor::app
