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
    const auto g = q.progress(group); // throws not_found
    if (g.enqueuing || g.completed + g.failed < g.total) {
        throw queue::error(queue::errc::invalid_argument,
                           "retry-failed: group " + group + " is not finished (" +
                               std::to_string(g.completed + g.failed) + " of " +
                               std::to_string(g.total) +
                               " jobs ended): its failures may still change");
    }
    std::string platform;
    std::string workflow;
    const auto gf = q.command({"HMGET", keys.batch_group(group), "platform", "workflow_id"});
    if (gf.elements.size() == 2) {
        if (!gf.elements[0].is_nil()) platform = gf.elements[0].as_string();
        if (!gf.elements[1].is_nil()) workflow = gf.elements[1].as_string();
    }
    std::vector<queue::enqueue_item> items;
    std::set<std::string> taken; // an item enqueued twice in the group is retried once
    std::size_t failed = 0;
    std::size_t unrecorded = 0; // items of dead jobs that never got a result or a failure
    auto item_of = [](const nlohmann::json& params, std::size_t index,
                      const std::string& id) -> queue::enqueue_item {
        queue::enqueue_item item{id, nullptr};
        // The values it was enqueued with (params.item_data, by index), when its job still holds
        // them and the index is this item's.
        if (params.is_object() && params.contains("product_ids") &&
            params["product_ids"].is_array() && index < params["product_ids"].size()) {
            const auto& original = params["product_ids"][index];
            const std::string text =
                original.is_string() ? original.get<std::string>() : original.dump();
            const auto data = params.find("item_data");
            if (text == id && data != params.end() && data->is_array() && index < data->size() &&
                (*data)[index].is_object()) {
                item.data = (*data)[index];
            }
        }
        return item;
    };
    for (const auto& id : group_jobs(q, group)) {
        const auto failures = q.failures(id);
        const auto f =
            q.command({"HMGET", keys.job(id), "platform", "workflow_id", "params", "status"});
        nlohmann::json params;
        std::string status;
        if (f.elements.size() == 4 && !f.elements[0].is_nil()) {
            if (platform.empty()) platform = f.elements[0].as_string();
            if (workflow.empty() && !f.elements[1].is_nil()) workflow = f.elements[1].as_string();
            if (!f.elements[2].is_nil())
                params = nlohmann::json::parse(f.elements[2].as_string(), nullptr, false);
            if (!f.elements[3].is_nil()) status = f.elements[3].as_string();
        }
        std::set<std::size_t> recorded;
        for (const auto& failure : failures) {
            recorded.insert(failure.index);
            if (!taken.insert(failure.item).second) continue;
            items.push_back(item_of(params, failure.index, failure.item));
            ++failed;
        }
        if (status != "dead" || !params.is_object() || !params.contains("product_ids") ||
            !params["product_ids"].is_array()) {
            continue;
        }
        // A dead job's items that were never recorded (it died before them) are retried too.
        for (const auto& k : q.command({"HKEYS", keys.results(id)}).elements) {
            try {
                recorded.insert(static_cast<std::size_t>(std::stoull(k.as_string())));
            } catch (const std::exception&) {
                // not an index this build wrote
            }
        }
        const auto& ids = params["product_ids"];
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (recorded.count(i) != 0) continue;
            const std::string item = ids[i].is_string() ? ids[i].get<std::string>() : ids[i].dump();
            if (!taken.insert(item).second) continue;
            items.push_back(item_of(params, i, item));
            ++unrecorded;
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
              {"failed_items", failed},
              {"unrecorded_items", unrecorded},
              {"enqueued", true},
              {"new_group", s.group_id},
              {"jobs", s.jobs},
              {"replayed", s.replayed_chunks > 0},
              {"idempotency_key", s.idempotency_key}});
    return 0;
}

} // namespace rotor::app
