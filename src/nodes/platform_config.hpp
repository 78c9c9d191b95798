#pragma once
// A platform's configuration (config/platforms/{platform}.yaml): what a worker needs to scrape
// it. Loaded and validated by load_platform_config (config_loader.hpp); every field below has
// the default a file may leave out.

#include "cdp/page.hpp"
#include "cdp/page_profile.hpp"
#include "pool/rotation.hpp"
#include "pool/shm.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rotor::nodes {

using std::chrono::milliseconds;

enum class worker_type { browser, api };

/// How a field's text is read from its element.
enum class field_read { text, html, attr };
/// What a field's value becomes (string: as read, after trimming).
enum class field_type { string, integer, price, boolean, json };

struct field_spec {
    std::string name;
    std::string selector; // browser: CSS selector; the first match is read
    std::string pointer;  // api: JSON pointer into the response (/data/product/price)
    field_read read = field_read::text;
    std::string attribute;            // for read == attr
    std::optional<std::string> regex; // applied to the text; the first group (or the match)
    field_type type = field_type::string;
    bool required = false; // missing or unreadable: the item fails validation
};

struct wait_spec {
    std::string selector;   // wait until document.querySelector finds it, or
    std::string expression; // until the expression is truthy (one of the two, or neither)
};

struct block_detect_spec {
    std::string selector;    // an element that only a block page has (captcha, "access denied")
    std::string text;        // a text that only a block page holds (in body.innerText)
    std::vector<int> status; // HTTP statuses that mean blocked (403, ...)
    bool empty() const { return selector.empty() && text.empty() && status.empty(); }
};

struct rate_limit_spec {
    double requests_per_minute = 0;         // shared by every worker of the platform; 0: none
    int burst = 1;                          // requests that may go back to back after a quiet spell
    milliseconds wait_min{0};               // a lane waits between its requests: a random time in
    milliseconds wait_max{0};               // [wait_min, wait_max] (fixed when equal)
    std::vector<int> cooldown_on{429, 503}; // these statuses slow every worker down
    std::chrono::seconds cooldown{60};
};

struct timeouts_spec {
    milliseconds navigation{30000};
    milliseconds wait{10000};    // for wait_for
    milliseconds item{90000};    // one attempt at one item, everything included
    milliseconds request{15000}; // api: one HTTP request, connection included
};

struct browser_spec {
    std::size_t browsers = 1;
    pool::rotation_limits rotation; // page/context/browser rotation, memory budget
    pool::shm_mode shm = pool::shm_mode::auto_detect;
    std::vector<std::string> extra_flags;
    std::string user_agent;
    std::map<std::string, std::string> headers;
    std::vector<cdp::cookie> cookies;
    std::vector<cdp::resource_type> block;
    std::vector<std::string> block_urls; // URLPattern syntax
    std::optional<cdp::viewport> viewport;
};

struct scan_spec {
    wait_spec wait_for;
    block_detect_spec block_detect;
    std::vector<field_spec> fields;
};

/// An API platform's request and what to read from its JSON answer.
struct api_spec {
    std::string method = "GET"; // GET, POST, PUT, PATCH
    std::map<std::string, std::string> headers;
    // The body: a JSON template whose strings "{id}" and "{data.NAME}" become the item's id and
    // the values it was enqueued with, as JSON values (never pasted into text that is parsed).
    std::optional<nlohmann::json> body;
    std::string graphql_query;      // set: POST {"query": graphql_query, "variables": body}
    std::string found;              // a JSON pointer whose value null or missing means gone
    std::vector<field_spec> fields; // read by pointer
    std::size_t max_body_bytes = 8 * 1024 * 1024;
    long max_connections = 0;             // per host at once (0: as many as requests in flight)
    bool allow_private_addresses = false; // internal APIs whose public names resolve privately
};

struct node_spec {
    std::string id;
    std::string type; // scan_product | api_fetch | validate | save
    std::vector<std::string> depends_on;
    std::vector<std::string> sinks; // save: which sinks (names under `sinks:`)
};

/// Which outcomes a sink takes (ok, gone, failed, cached).
using outcome_set = std::set<std::string>;

struct jsonl_sink_spec {
    std::string dir = "results"; // one file per platform and day under it
    outcome_set outcomes{"ok", "gone", "failed", "cached"};
};

/// An upsert into a PostgreSQL table: one row per key, written in batches.
struct postgres_sink_spec {
    std::string url;   // a libpq connection string or postgresql:// URL
    std::string table; // [schema.]table
    // column -> where its value comes from: platform, item, run, lease, outcome, reason,
    // status, url, at (timestamptz text), at_ms, fields (all, as JSON), fields.NAME, data.NAME
    std::vector<std::pair<std::string, std::string>> columns;
    std::vector<std::string> key; // the columns of the table's unique key (ON CONFLICT)
    std::size_t batch = 100;      // rows per statement at most
    outcome_set outcomes{"ok"};
};

/// XADD of each record to a Redis stream, trimmed to about maxlen entries.
struct redis_stream_sink_spec {
    std::string key; // "" : {prefix}stream:platform:{platform}
    std::size_t maxlen = 100000;
    outcome_set outcomes{"ok", "gone"};
};

struct platform_config {
    std::string source;   // the file it came from (for messages)
    std::string platform; // [a-z0-9_-]+
    worker_type type = worker_type::browser;
    std::size_t concurrency = 4;
    int retries = 2; // an item's retries after a retryable failure (timeout, crash)
    // A failed item (after its retries): skip = recorded with its reason, the batch goes on;
    // fail_job = recorded, then the job is dead-lettered with the reason (not retried: the
    // failed item is checkpointed, a retry would skip it and complete).
    enum class item_failure_policy { skip, fail_job } on_item_failure = item_failure_policy::skip;
    int poison_after = 2; // crashes of the item's own renderer before it is quarantined
    std::string id_pattern = "^[A-Za-z0-9_.-]{1,128}$";
    std::string url_template; // https://.../goods/{id}
    std::vector<std::string> allowed_hosts;
    rate_limit_spec rate_limit;
    timeouts_spec timeouts;
    browser_spec browser;
    scan_spec scan;
    std::vector<node_spec> workflow; // in an order where every node follows its dependencies
    std::optional<jsonl_sink_spec> jsonl;
    std::optional<postgres_sink_spec> postgres;
    std::optional<redis_stream_sink_spec> redis_stream;
    api_spec api;                      // worker_type api
    std::chrono::seconds cache_ttl{0}; // > 0: an item saved less than this ago is not fetched
};

/// The fields a platform extracts: scan.fields (browser) or api.fields (api).
const std::vector<field_spec>& fields_of(const platform_config& config);

std::string_view to_string(field_type t);
std::string_view to_string(worker_type t);

} // namespace rotor::nodes
