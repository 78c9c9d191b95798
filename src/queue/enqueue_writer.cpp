#include "queue/enqueue_writer.hpp"

#include "queue/item_id.hpp"

#include <cstdint>
#include <cstdio>

namespace rotor::queue {
namespace {

// FNV-1a, 64 bits: a chunk's fingerprint (not a security boundary: it tells a replay of the
// same chunk from a key reused for other items).
class fnv1a {
  public:
    void add(std::string_view s) {
        for (const char c : s) {
            h_ ^= static_cast<unsigned char>(c);
            h_ *= 1099511628211ull;
        }
        h_ ^= 0xFF; // a separator no UTF-8 text holds
        h_ *= 1099511628211ull;
    }
    std::string hex() const {
        char out[17];
        std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h_));
        return out;
    }

  private:
    std::uint64_t h_ = 14695981039346656037ull;
};

} // namespace

std::optional<std::string> idempotency_key_problem(const std::string& key) {
    if (key.empty() || key.size() > 200) return "an idempotency key is 1 to 200 characters";
    for (const char c : key) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok) return "an idempotency key holds only A-Z a-z 0-9 . _ : -";
    }
    return std::nullopt;
}

enqueue_writer::enqueue_writer(job_queue& queue, enqueue_target target, enqueue_limits limits)
    : queue_(queue), target_(std::move(target)), limits_(limits) {
    if (target_.platform.empty()) throw error(errc::invalid_argument, "enqueue: platform is empty");
    if (queue_.options().batch_size == 0) {
        throw error(errc::invalid_argument, "enqueue: batch_size is 0");
    }
    if (limits_.chunk_items == 0 || limits_.chunk_bytes == 0 || limits_.chunk_jobs == 0) {
        throw error(errc::invalid_argument, "enqueue: chunk limits must be positive");
    }
    if (!target_.extra_params.is_object()) target_.extra_params = nlohmann::json::object();
    // The writer fills these itself: given as extra params, they would be overwritten or, for
    // item_data, make jobs the worker cannot read. Refused before anything (the key's binding
    // included) is written.
    for (const char* reserved :
         {"product_ids", "item_data", "batch_index", "batch_total", "batch_group"}) {
        if (target_.extra_params.contains(reserved)) {
            throw error(errc::invalid_argument, "enqueue " + target_.platform +
                                                    ": extra params may not set " + reserved +
                                                    " (the enqueue writes it from the items)");
        }
    }
    summary_.idempotency_key = target_.idempotency_key;
    if (!target_.idempotency_key.empty()) {
        if (auto why = idempotency_key_problem(target_.idempotency_key)) {
            throw error(errc::invalid_argument, "enqueue " + target_.platform + ": " + *why);
        }
        summary_.group_id = queue_.bind_enqueue_key(target_);
    } else {
        summary_.group_id = target_.group_id;
    }
    if (summary_.group_id.empty()) summary_.group_id = job_queue::new_group_id(target_.platform);
}

void enqueue_writer::expect(std::size_t items) {
    if (summary_.items > 0 || !job_items_.empty()) {
        throw error(errc::invalid_argument, "enqueue: expect() after items were added");
    }
    expected_ = items;
}

void enqueue_writer::add(enqueue_item item) {
    check_usable("add");
    if (auto why = normalize_item_id(item.id)) {
        throw error(errc::invalid_argument, "enqueue " + target_.platform + ": " + *why);
    }
    if (!item.data.is_null() && !item.data.is_object()) {
        throw error(errc::invalid_argument, "enqueue " + target_.platform + " item " + item.id +
                                                ": its values must be an object (or none)");
    }
    if (expected_ && summary_.items >= *expected_) {
        fail_with(error(errc::invalid_argument, "enqueue " + target_.platform + ": more than the " +
                                                    std::to_string(*expected_) +
                                                    " items expected (did the input change?)"));
    }
    if (!item.data.is_null()) job_has_data_ = true;
    job_items_.push_back(std::move(item));
    ++summary_.items;
    if (job_items_.size() == queue_.options().batch_size) {
        try {
            close_job();
        } catch (const error& e) {
            fail_with(e);
        }
    }
}

void enqueue_writer::check_usable(const char* what) const {
    if (finished_) {
        throw error(errc::invalid_argument, std::string("enqueue: ") + what + "() after finish()");
    }
    if (failed_) {
        throw error(errc::invalid_argument, std::string("enqueue: ") + what +
                                                "() after the enqueue failed (" + failure_ + ")");
    }
}

void enqueue_writer::fail_with(const error& e) {
    // Once anything may have been written, every error says what is in Redis and how to add
    // the rest without doubling it, and the writer takes nothing more: a later chunk would
    // carry the number of the one that failed, and its jobs would be missing unnoticed.
    // The one place that says so (write_chunk's errors come here unwrapped).
    failed_ = true;
    failure_ = e.what();
    if (e.kind() == errc::idempotency_mismatch) throw e;
    std::string done;
    if (summary_.chunks > 0) {
        done = std::to_string(summary_.chunks) + " chunk(s) of group " + summary_.group_id +
               " were written before this";
    }
    // A refusal (bad params, a reused group id, an input that changed) comes again on a
    // re-run; a lost connection or a timeout does not.
    if (!target_.idempotency_key.empty() && e.kind() != errc::invalid_argument) {
        done += std::string(done.empty() ? "" : "; ") +
                "run the same enqueue again with idempotency key " + target_.idempotency_key +
                " to add the rest, nothing twice";
    }
    if (done.empty()) throw e;
    throw error(e.kind(), std::string(e.what()) + " (" + done + ")");
}

void enqueue_writer::close_job() {
    if (job_items_.empty()) return;
    const std::size_t batch = queue_.options().batch_size;
    nlohmann::json params = target_.extra_params;
    params["batch_index"] = summary_.jobs;
    if (expected_) params["batch_total"] = (*expected_ + batch - 1) / batch;
    params["batch_group"] = summary_.group_id;
    nlohmann::json ids = nlohmann::json::array();
    nlohmann::json data = nlohmann::json::array();
    // The chunk's digest covers what the items are (ids and values), not how the params were
    // written: a retry from a file (batch_total known) of an enqueue first read from stdin (not
    // known) is the same enqueue. The settings are checked by the key's binding.
    fnv1a job_digest;
    std::string text;
    try {
        for (auto& item : job_items_) {
            job_digest.add(item.id);
            job_digest.add(item.data.is_null() ? std::string() : item.data.dump());
            ids.push_back(std::move(item.id));
            data.push_back(std::move(item.data));
        }
        params["product_ids"] = std::move(ids);
        if (job_has_data_) params["item_data"] = std::move(data);
        text = params.dump();
    } catch (const nlohmann::json::exception& e) {
        // A value (in item data or extra params) that is not valid UTF-8.
        throw error(errc::invalid_argument,
                    "enqueue " + target_.platform + " job " + std::to_string(summary_.jobs) +
                        ": its params cannot be written as JSON: " + e.what());
    }
    if (text.size() > limits_.chunk_bytes) {
        throw error(errc::invalid_argument,
                    "enqueue " + target_.platform + " job " + std::to_string(summary_.jobs) +
                        ": its params are " + std::to_string(text.size()) + " bytes (at most " +
                        std::to_string(limits_.chunk_bytes) +
                        "): lower the batch size or the items' values");
    }
    const std::size_t n = job_items_.size();
    job_items_.clear();
    job_has_data_ = false;
    // The chunk written so far is full: it goes now, with more to follow (this job).
    if (!chunk_params_.empty() && (chunk_items_ + n > limits_.chunk_items ||
                                   chunk_bytes_ + text.size() > limits_.chunk_bytes ||
                                   chunk_params_.size() >= limits_.chunk_jobs)) {
        write_chunk(false);
    }
    chunk_items_ += n;
    chunk_bytes_ += text.size();
    chunk_params_.push_back(std::move(text));
    chunk_digests_.push_back(job_digest.hex());
    ++summary_.jobs;
}

void enqueue_writer::write_chunk(bool last) {
    enqueue_chunk chunk;
    chunk.target = &target_;
    chunk.group_id = summary_.group_id;
    chunk.last = last;
    chunk.min_score = min_score_;
    fnv1a digest;
    for (const auto& d : chunk_digests_) digest.add(d);
    chunk.digest = digest.hex();
    chunk.index = summary_.chunks;
    chunk.params = std::move(chunk_params_);
    chunk_params_.clear();
    chunk_digests_.clear();
    chunk_items_ = 0;
    chunk_bytes_ = 0;
    // An error goes up as it is: fail_with (add's and finish's) says what is in Redis already
    // and whether a re-run adds the rest.
    const enqueue_chunk_result r = queue_.write_enqueue_chunk(chunk);
    ++summary_.chunks;
    if (r.replayed) ++summary_.replayed_chunks;
    min_score_ = r.next_min_score;
    summary_.job_ids.insert(summary_.job_ids.end(), r.job_ids.begin(), r.job_ids.end());
}

enqueue_summary enqueue_writer::finish() {
    if (finished_) return summary_;
    check_usable("finish");
    try {
        if (expected_ && summary_.items != *expected_) {
            throw error(errc::invalid_argument, "enqueue " + target_.platform + ": " +
                                                    std::to_string(summary_.items) +
                                                    " items read, " + std::to_string(*expected_) +
                                                    " expected (did the input change?)");
        }
        close_job();
        if (chunk_params_.empty()) {
            throw error(errc::invalid_argument, "enqueue " + target_.platform + ": no items");
        }
        write_chunk(true);
    } catch (const error& e) {
        fail_with(e);
    }
    finished_ = true;
    return summary_;
}

} // namespace rotor::queue
