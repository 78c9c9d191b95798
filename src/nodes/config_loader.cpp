#include "nodes/config_loader.hpp"

#include "cdp/url_policy.hpp"
#include "nodes/detail/config_sections.hpp"
#include "nodes/detail/yaml_reader.hpp"

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace rotor::nodes {
namespace {

// Names, not the namespace: in a unity build a using-directive would reach every later file.
using detail::parse_duration;
using detail::read_api;
using detail::read_browser;
using detail::read_rate_limit;
using detail::read_scan;
using detail::read_sinks;
using detail::read_timeouts;
using detail::read_workflow;
using detail::yaml_reader;

std::string joined(const std::vector<std::string>& problems) {
    std::string out = "the platform config has " + std::to_string(problems.size()) + " problem(s):";
    for (const auto& p : problems) out += "\n  " + p;
    return out;
}

bool valid_name(const std::string& s) {
    if (s.empty() || s.size() > 64) return false;
    for (const char c : s) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

} // namespace

config_error::config_error(std::vector<std::string> problems)
    : std::runtime_error(joined(problems)), problems_(std::move(problems)) {}

std::optional<std::string> process_env(const std::string& name) {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
}

std::optional<std::string> expand_env(const std::string& text, const env_lookup& env,
                                      std::string& error) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        const auto at = text.find("${", i);
        if (at == std::string::npos) {
            out += text.substr(i);
            break;
        }
        out += text.substr(i, at - i);
        const auto close = text.find('}', at);
        if (close == std::string::npos) {
            error = "'${' without a closing '}' in '" + text + "'";
            return std::nullopt;
        }
        const std::string inner = text.substr(at + 2, close - at - 2);
        const auto dflt = inner.find(":-");
        const std::string name = inner.substr(0, dflt);
        bool name_ok = !name.empty();
        for (const char c : name) {
            name_ok = name_ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                  (c >= '0' && c <= '9') || c == '_');
        }
        if (!name_ok) {
            error = "'${" + inner + "}' does not name an environment variable";
            return std::nullopt;
        }
        if (auto v = env(name)) {
            out += *v;
        } else if (dflt != std::string::npos) {
            out += inner.substr(dflt + 2);
        } else {
            error = "environment variable " + name + " is not set (give it, or write ${" + name +
                    ":-default})";
            return std::nullopt;
        }
        i = close + 1;
    }
    return out;
}

platform_config parse_platform_config(const std::string& yaml, const std::string& source,
                                      const env_lookup& env) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
        throw config_error({source + ":" + std::to_string(e.mark.line + 1) + ":" +
                            std::to_string(e.mark.column + 1) + ": not valid YAML: " + e.msg});
    }
    yaml_reader r(source, env);
    platform_config c;
    c.source = source;
    if (!r.expect_map(root, "",
                      {"platform", "worker_type", "concurrency", "retries", "on_item_failure",
                       "poison_after", "id_pattern", "url_template", "allowed_hosts", "rate_limit",
                       "timeouts", "browser", "scan", "api", "workflow", "sinks", "cache_ttl"})) {
        throw config_error(r.problems());
    }
    c.platform = r.text(root, "", "platform", true).value_or("");
    if (!c.platform.empty() && !valid_name(c.platform)) {
        r.problem(root["platform"], "platform",
                  "'" + c.platform + "' is not a platform name ([a-z0-9_-], at most 64)");
    }
    if (auto v = r.text(root, "", "worker_type", true)) {
        if (*v == "browser")
            c.type = worker_type::browser;
        else if (*v == "api")
            c.type = worker_type::api;
        else
            r.problem(root["worker_type"], "worker_type", "'" + *v + "' is not browser or api");
    }
    if (auto v = r.integer(root, "", "concurrency", 1, 256))
        c.concurrency = static_cast<std::size_t>(*v);
    if (auto v = r.integer(root, "", "retries", 0, 20)) c.retries = static_cast<int>(*v);
    if (auto v = r.integer(root, "", "poison_after", 1, 100)) c.poison_after = static_cast<int>(*v);
    if (auto v = r.text(root, "", "on_item_failure")) {
        if (*v == "skip")
            c.on_item_failure = platform_config::item_failure_policy::skip;
        else if (*v == "fail_job")
            c.on_item_failure = platform_config::item_failure_policy::fail_job;
        else
            r.problem(root["on_item_failure"], "on_item_failure",
                      "'" + *v + "' is not skip or fail_job");
    }
    if (auto v = r.text(root, "", "id_pattern")) {
        try {
            std::regex check(*v);
            c.id_pattern = *v;
        } catch (const std::regex_error& e) {
            r.problem(root["id_pattern"], "id_pattern",
                      "'" + *v + "' is not a regular expression (" + e.what() + ")");
        }
    }
    if (auto v = r.text(root, "", "url_template", true)) {
        c.url_template = *v;
        if (c.url_template.find("{id}") == std::string::npos && c.type == worker_type::browser) {
            r.problem(root["url_template"], "url_template", "has no {id}");
        }
        if (c.url_template.rfind("http://", 0) != 0 && c.url_template.rfind("https://", 0) != 0) {
            r.problem(root["url_template"], "url_template", "must start with http:// or https://");
        }
        const auto host_end = c.url_template.find_first_of("/?#", c.url_template.find("://") + 3);
        if (c.url_template.find('\\') != std::string::npos ||
            c.url_template.substr(0, host_end).find('@') != std::string::npos) {
            r.problem(root["url_template"], "url_template",
                      "has a backslash or user information (an '@' before the host): give "
                      "credentials in api.headers");
        }
    }
    if (auto v = r.texts(root, "", "allowed_hosts")) {
        for (const auto& h : *v) {
            if (auto why = cdp::check_host_rule(h); !why.empty()) {
                r.problem(root["allowed_hosts"], "allowed_hosts", "'" + h + "': " + why);
            }
        }
        c.allowed_hosts = *v;
    }
    if (c.allowed_hosts.empty()) {
        r.problem(root, "allowed_hosts",
                  "missing or empty: list the hosts items may reach (jobs come from a queue "
                  "others can write to)");
    }
    if (const auto n = root["rate_limit"]; n.IsDefined() && !n.IsNull())
        read_rate_limit(r, n, c.rate_limit);
    if (const auto n = root["timeouts"]; n.IsDefined() && !n.IsNull())
        read_timeouts(r, n, c.timeouts);
    if (const auto n = root["browser"]; n.IsDefined() && !n.IsNull()) read_browser(r, n, c.browser);
    const bool browser = c.type == worker_type::browser;
    if (const auto n = root["scan"]; n.IsDefined() && !n.IsNull()) {
        if (browser) {
            read_scan(r, n, c.scan);
        } else {
            r.problem(n, "scan",
                      "an api platform reads its fields under api: (scan is for browsers)");
        }
    } else if (browser) {
        r.problem(root, "scan", "missing (a browser platform says what to extract)");
    }
    if (const auto n = root["api"]; n.IsDefined() && !n.IsNull()) {
        if (browser) {
            r.problem(n, "api", "a browser platform has no api: section (worker_type: api?)");
        } else {
            read_api(r, n, c.api);
        }
    } else if (!browser) {
        r.problem(root, "api", "missing (an api platform says what to request and read)");
    }
    if (!browser && !c.url_template.empty() && c.url_template.find("{id}") == std::string::npos) {
        const std::string body = c.api.body ? c.api.body->dump() : "";
        if (body.find("{id}") == std::string::npos && body.find("{data.") == std::string::npos) {
            r.problem(root["url_template"], "url_template",
                      "neither it nor api.body has {id} (or {data.NAME}): every item would ask "
                      "for the same thing");
        }
    }
    if (auto v = r.text(root, "", "cache_ttl")) {
        if (auto d = parse_duration(*v)) {
            c.cache_ttl = *d;
        } else {
            r.problem(root["cache_ttl"], "cache_ttl",
                      "'" + *v + "' is not a duration (3600, 90s, 30m, 6h, 1d)");
        }
    }
    if (const auto n = root["sinks"]; n.IsDefined() && !n.IsNull()) read_sinks(r, n, c);
    if (c.redis_stream && c.redis_stream->key.empty()) {
        c.redis_stream->key = "workflow:stream:platform:" + c.platform;
    }
    if (c.postgres) {
        // Every column's source must be something a record has.
        static const std::set<std::string> plain = {"platform", "item",   "run",    "lease",
                                                    "outcome",  "reason", "status", "url",
                                                    "at",       "at_ms",  "fields"};
        std::set<std::string> names;
        for (const auto& f : fields_of(c)) names.insert(f.name);
        for (const auto& [col, src] : c.postgres->columns) {
            bool ok = plain.count(src) > 0;
            if (src.rfind("fields.", 0) == 0) ok = names.count(src.substr(7)) > 0;
            if (src.rfind("data.", 0) == 0) ok = src.size() > 5;
            if (!ok) {
                r.problem(root["sinks"]["postgres"]["columns"], "sinks.postgres.columns." + col,
                          "'" + src +
                              "' is not a source (platform, item, run, lease, outcome, reason, "
                              "status, url, at, at_ms, fields, fields.NAME of a field, data.NAME)");
            }
        }
    }
    if (const auto n = root["workflow"]; n.IsDefined() && !n.IsNull()) {
        read_workflow(r, n, c.workflow);
        for (const auto& node : c.workflow) {
            for (const auto& s : node.sinks) {
                const bool configured = (s == "jsonl" && c.jsonl) ||
                                        (s == "postgres" && c.postgres) ||
                                        (s == "redis_stream" && c.redis_stream);
                if (!configured) {
                    r.problem(n, "workflow." + node.id + ".sinks",
                              "'" + s + "' is not a sink configured under sinks:");
                }
            }
            if (node.type == "save" && node.sinks.empty()) {
                r.problem(n, "workflow." + node.id + ".sinks", "a save node names its sinks");
            }
        }
    } else {
        r.problem(root, "workflow", "missing (the nodes an item goes through)");
    }
    // The template must reach an allowed host, and {id} may only sit in the path or the query
    // (an id in the host or the user part would let a job choose where to go).
    if (!c.url_template.empty() && !c.allowed_hosts.empty() && r.problems().empty()) {
        const auto scheme_end = c.url_template.find("://");
        const auto path_start = c.url_template.find_first_of("/?#", scheme_end + 3);
        if (c.url_template.find("{id}") < path_start) {
            r.problem(root["url_template"], "url_template",
                      "{id} is in the host part: put it in the path or the query");
        } else {
            std::string sample = c.url_template;
            for (auto at = sample.find("{id}"); at != std::string::npos; at = sample.find("{id}"))
                sample.replace(at, 4, "1");
            if (const auto check = cdp::check_url(sample, c.allowed_hosts); !check.allowed) {
                r.problem(root["url_template"], "url_template",
                          "its URLs are refused by allowed_hosts: " + check.reason);
            }
        }
    }
    if (!root["poison_after"].IsDefined()) {
        c.poison_after = std::min(c.poison_after, c.retries + 1); // the default fits any retries
    } else if (c.poison_after > c.retries + 1) {
        r.problem(root["poison_after"], "poison_after",
                  std::to_string(c.poison_after) + " crashes can never happen in " +
                      std::to_string(c.retries + 1) + " attempts (retries " +
                      std::to_string(c.retries) + "): at most retries + 1");
    }
    if (!c.workflow.empty()) {
        // One fetching node, the platform's kind, first; the save node (if any) last.
        const std::string fetch = browser ? "scan_product" : "api_fetch";
        const std::string other = browser ? "api_fetch" : "scan_product";
        std::size_t fetches = 0, others = 0, saves = 0;
        for (const auto& node : c.workflow) {
            fetches += node.type == fetch;
            others += node.type == other;
            saves += node.type == "save";
        }
        if (others > 0) {
            r.problem(root["workflow"], "workflow",
                      "a " + std::string(to_string(c.type)) + " workflow has no " + other +
                          " node");
        }
        if (fetches != 1) {
            r.problem(root["workflow"], "workflow",
                      "a " + std::string(to_string(c.type)) + " workflow has exactly one " + fetch +
                          " node (it has " + std::to_string(fetches) + ")");
        } else if (c.workflow.front().type != fetch) {
            r.problem(root["workflow"], "workflow",
                      "the " + fetch + " node must come first (give the others depends_on)");
        }
        if (saves > 1) r.problem(root["workflow"], "workflow", "more than one save node");
        if (saves == 1 && c.workflow.back().type != "save") {
            r.problem(root["workflow"], "workflow", "the save node must come last");
        }
    }
    if (!r.problems().empty()) throw config_error(r.problems());
    return c;
}

platform_config load_platform_config(const std::filesystem::path& file, const env_lookup& env) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw config_error({file.string() + ": cannot be read"});
    std::stringstream ss;
    ss << in.rdbuf();
    auto c = parse_platform_config(ss.str(), file.string(), env);
    if (c.platform != file.stem().string()) {
        throw config_error({file.string() + ": platform: '" + c.platform +
                            "' does not match the file name (" + file.stem().string() + ".yaml)"});
    }
    return c;
}

platform_config load_platform(const std::filesystem::path& config_dir, const std::string& platform,
                              const env_lookup& env) {
    if (!valid_name(platform)) {
        throw config_error({"platform '" + platform + "' is not a platform name ([a-z0-9_-])"});
    }
    const auto file = config_dir / (platform + ".yaml");
    if (!std::filesystem::exists(file)) {
        throw config_error({file.string() + ": no such file (is --config-dir right?)"});
    }
    return load_platform_config(file, env);
}

const std::vector<field_spec>& fields_of(const platform_config& config) {
    return config.type == worker_type::api ? config.api.fields : config.scan.fields;
}

std::string_view to_string(field_type t) {
    switch (t) {
    case field_type::string:
        return "string";
    case field_type::integer:
        return "int";
    case field_type::price:
        return "price";
    case field_type::boolean:
        return "bool";
    case field_type::json:
        return "json";
    }
    return "?";
}

std::string_view to_string(worker_type t) {
    return t == worker_type::browser ? "browser" : "api";
}

} // namespace rotor::nodes
