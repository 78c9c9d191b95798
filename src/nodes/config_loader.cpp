#include "nodes/config_loader.hpp"

#include "cdp/url_policy.hpp"
#include "nodes/detail/yaml_reader.hpp"

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace rotor::nodes {
namespace {

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

// An HTTP status: 100-599 written as such ("403", not "4e2" or "403abc").
std::optional<int> http_status(const std::string& s) {
    if (s.size() != 3 || s.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
    }
    const int code = std::stoi(s);
    if (code < 100 || code > 599) return std::nullopt;
    return code;
}

// "3000" or "3000-4000" (milliseconds).
bool parse_wait(const std::string& text, milliseconds& lo, milliseconds& hi, std::string& why) {
    const auto dash = text.find('-');
    auto num = [](const std::string& s, long long& v) {
        if (s.empty()) return false;
        for (const char c : s) {
            if (c < '0' || c > '9') return false;
        }
        if (s.size() > 9) return false;
        v = std::stoll(s);
        return true;
    };
    long long a = 0, b = 0;
    if (dash == std::string::npos) {
        if (!num(text, a)) {
            why = "'" + text + "' is not a time in ms (3000) or a range (3000-4000)";
            return false;
        }
        b = a;
    } else if (!num(text.substr(0, dash), a) || !num(text.substr(dash + 1), b)) {
        why = "'" + text + "' is not a time in ms (3000) or a range (3000-4000)";
        return false;
    }
    if (b < a) {
        why = "the range " + text + " runs backwards (write the smaller number first)";
        return false;
    }
    lo = milliseconds(a);
    hi = milliseconds(b);
    return true;
}

void read_rate_limit(yaml_reader& r, const YAML::Node& n, rate_limit_spec& out) {
    const std::string path = "rate_limit";
    if (!r.expect_map(
            n, path,
            {"requests_per_minute", "burst", "wait_time_ms", "cooldown_on", "cooldown_s"})) {
        return;
    }
    if (auto v = r.number(n, path, "requests_per_minute", 0, 1e6)) out.requests_per_minute = *v;
    if (auto v = r.integer(n, path, "burst", 1, 1000)) out.burst = static_cast<int>(*v);
    if (auto v = r.text(n, path, "wait_time_ms")) {
        std::string why;
        if (!parse_wait(*v, out.wait_min, out.wait_max, why)) {
            r.problem(n["wait_time_ms"], path + ".wait_time_ms", why);
        }
    }
    if (auto v = r.texts(n, path, "cooldown_on")) {
        out.cooldown_on.clear();
        for (const auto& s : *v) {
            if (auto code = http_status(s)) {
                out.cooldown_on.push_back(*code);
            } else {
                r.problem(n["cooldown_on"], path + ".cooldown_on",
                          "'" + s + "' is not an HTTP status (100-599)");
            }
        }
    }
    if (auto v = r.integer(n, path, "cooldown_s", 0, 86400))
        out.cooldown = std::chrono::seconds(*v);
}

void read_timeouts(yaml_reader& r, const YAML::Node& n, timeouts_spec& out) {
    const std::string path = "timeouts";
    if (!r.expect_map(n, path, {"navigation_ms", "wait_ms", "item_ms"})) return;
    if (auto v = r.integer(n, path, "navigation_ms", 100, 600000))
        out.navigation = milliseconds(*v);
    if (auto v = r.integer(n, path, "wait_ms", 0, 600000)) out.wait = milliseconds(*v);
    if (auto v = r.integer(n, path, "item_ms", 100, 3600000)) out.item = milliseconds(*v);
}

std::optional<cdp::resource_type> resource_type_of(const std::string& s) {
    for (auto t : {cdp::resource_type::image, cdp::resource_type::font, cdp::resource_type::media,
                   cdp::resource_type::stylesheet, cdp::resource_type::script,
                   cdp::resource_type::xhr, cdp::resource_type::fetch, cdp::resource_type::other}) {
        if (cdp::to_string(t) == s) return t;
    }
    return std::nullopt;
}

void read_browser(yaml_reader& r, const YAML::Node& n, browser_spec& out) {
    const std::string path = "browser";
    if (!r.expect_map(n, path,
                      {"browsers", "page_rotation", "context_rotation", "browser_rotation",
                       "memory_budget_mb", "page_memory_mb", "shm_mode", "extra_flags",
                       "user_agent", "headers", "cookies", "block", "block_urls", "viewport"})) {
        return;
    }
    if (auto v = r.integer(n, path, "browsers", 1, 32)) out.browsers = static_cast<std::size_t>(*v);
    auto count = [&](const char* key, std::size_t& field) {
        if (auto v = r.integer(n, path, key, 0, 1000000)) field = static_cast<std::size_t>(*v);
    };
    count("page_rotation", out.rotation.page_rotation_every);
    count("context_rotation", out.rotation.context_rotation_every);
    count("browser_rotation", out.rotation.browser_recycle_every);
    count("memory_budget_mb", out.rotation.memory_budget_mb);
    count("page_memory_mb", out.rotation.page_memory_mb);
    if (auto v = r.text(n, path, "shm_mode")) {
        if (*v == "auto")
            out.shm = pool::shm_mode::auto_detect;
        else if (*v == "use")
            out.shm = pool::shm_mode::use;
        else if (*v == "avoid")
            out.shm = pool::shm_mode::avoid;
        else
            r.problem(n["shm_mode"], path + ".shm_mode", "'" + *v + "' is not auto, use or avoid");
    }
    if (auto v = r.texts(n, path, "extra_flags")) {
        for (const auto& f : *v) {
            if (f.rfind("--", 0) != 0) {
                r.problem(n["extra_flags"], path + ".extra_flags",
                          "'" + f + "' is not a Chromium switch (--name or --name=value)");
            }
        }
        out.extra_flags = *v;
    }
    if (auto v = r.text(n, path, "user_agent")) out.user_agent = *v;
    if (const auto h = n["headers"]; h.IsDefined() && !h.IsNull()) {
        if (!h.IsMap()) {
            r.problem(h, path + ".headers", "expected a mapping (Header-Name: value)");
        } else {
            for (const auto& kv : h) {
                const std::string name = kv.first.Scalar();
                if (auto v = r.scalar(kv.second, path + ".headers." + name)) out.headers[name] = *v;
            }
        }
    }
    if (const auto c = n["cookies"]; c.IsDefined() && !c.IsNull()) {
        if (!c.IsSequence()) {
            r.problem(c, path + ".cookies", "expected a list of {name, value, domain, path}");
        } else {
            for (std::size_t i = 0; i < c.size(); ++i) {
                const std::string p = path + ".cookies[" + std::to_string(i) + "]";
                if (!r.expect_map(c[i], p,
                                  {"name", "value", "domain", "path", "secure", "http_only"})) {
                    continue;
                }
                cdp::cookie k;
                k.name = r.text(c[i], p, "name", true).value_or("");
                k.value = r.text(c[i], p, "value", true).value_or("");
                k.domain = r.text(c[i], p, "domain", true).value_or("");
                if (auto v = r.text(c[i], p, "path")) k.path = *v;
                if (auto v = r.boolean(c[i], p, "secure")) k.secure = *v;
                if (auto v = r.boolean(c[i], p, "http_only")) k.http_only = *v;
                out.cookies.push_back(std::move(k));
            }
        }
    }
    if (auto v = r.texts(n, path, "block")) {
        for (const auto& s : *v) {
            if (auto t = resource_type_of(s)) {
                out.block.push_back(*t);
            } else {
                r.problem(n["block"], path + ".block",
                          "'" + s +
                              "' is not a resource type (image, font, media, stylesheet, "
                              "script, xhr, fetch, other)");
            }
        }
    }
    if (auto v = r.texts(n, path, "block_urls")) out.block_urls = *v;
    if (const auto vp = n["viewport"]; vp.IsDefined() && !vp.IsNull()) {
        const std::string p = path + ".viewport";
        if (r.expect_map(vp, p, {"width", "height", "mobile"})) {
            cdp::viewport view;
            view.width =
                static_cast<int>(r.integer(vp, p, "width", 100, 10000, true).value_or(1280));
            view.height =
                static_cast<int>(r.integer(vp, p, "height", 100, 10000, true).value_or(800));
            if (auto m = r.boolean(vp, p, "mobile")) view.mobile = *m;
            out.viewport = view;
        }
    }
}

void read_fields(yaml_reader& r, const YAML::Node& n, const std::string& path,
                 std::vector<field_spec>& out) {
    if (!n.IsMap()) {
        r.problem(n, path, "expected a mapping of field name to {selector, read, type, ...}");
        return;
    }
    for (const auto& kv : n) {
        field_spec f;
        f.name = kv.first.Scalar();
        const std::string p = path + "." + f.name;
        if (f.name == "item" || f.name == "gone" || f.name == "status") {
            r.problem(kv.first, p,
                      "'" + f.name +
                          "' is a name the stored result uses itself (item, gone, "
                          "status): pick another");
        }
        const auto spec = kv.second;
        if (!r.expect_map(spec, p, {"selector", "read", "regex", "type", "required"})) continue;
        f.selector = r.text(spec, p, "selector", true).value_or("");
        if (auto v = r.text(spec, p, "read")) {
            if (*v == "text") {
                f.read = field_read::text;
            } else if (*v == "html") {
                f.read = field_read::html;
            } else if (v->rfind("attr:", 0) == 0 && v->size() > 5) {
                f.read = field_read::attr;
                f.attribute = v->substr(5);
            } else {
                r.problem(spec["read"], p + ".read", "'" + *v + "' is not text, html or attr:NAME");
            }
        }
        if (auto v = r.text(spec, p, "regex")) {
            try {
                std::regex check(*v);
                f.regex = *v;
            } catch (const std::regex_error& e) {
                r.problem(spec["regex"], p + ".regex",
                          "'" + *v + "' is not a regular expression (" + e.what() + ")");
            }
        }
        if (auto v = r.text(spec, p, "type")) {
            if (*v == "string")
                f.type = field_type::string;
            else if (*v == "int")
                f.type = field_type::integer;
            else if (*v == "price")
                f.type = field_type::price;
            else if (*v == "bool")
                f.type = field_type::boolean;
            else if (*v == "json")
                f.type = field_type::json;
            else {
                r.problem(spec["type"], p + ".type",
                          "'" + *v + "' is not string, int, price, bool or json");
            }
        }
        if (auto v = r.boolean(spec, p, "required")) f.required = *v;
        out.push_back(std::move(f));
    }
}

void read_scan(yaml_reader& r, const YAML::Node& n, scan_spec& out) {
    const std::string path = "scan";
    if (!r.expect_map(n, path, {"wait_for", "block_detect", "fields"})) return;
    if (const auto w = n["wait_for"]; w.IsDefined() && !w.IsNull()) {
        if (r.expect_map(w, path + ".wait_for", {"selector", "expression"})) {
            out.wait_for.selector = r.text(w, path + ".wait_for", "selector").value_or("");
            out.wait_for.expression = r.text(w, path + ".wait_for", "expression").value_or("");
            if (!out.wait_for.selector.empty() && !out.wait_for.expression.empty()) {
                r.problem(w, path + ".wait_for", "give a selector or an expression, not both");
            }
        }
    }
    if (const auto b = n["block_detect"]; b.IsDefined() && !b.IsNull()) {
        const std::string p = path + ".block_detect";
        if (r.expect_map(b, p, {"selector", "text", "status"})) {
            out.block_detect.selector = r.text(b, p, "selector").value_or("");
            out.block_detect.text = r.text(b, p, "text").value_or("");
            if (auto v = r.texts(b, p, "status")) {
                for (const auto& s : *v) {
                    if (auto code = http_status(s)) {
                        out.block_detect.status.push_back(*code);
                    } else {
                        r.problem(b["status"], p + ".status",
                                  "'" + s + "' is not an HTTP status (100-599)");
                    }
                }
            }
        }
    }
    const auto f = n["fields"];
    if (!f.IsDefined() || f.IsNull()) {
        r.problem(n, path + ".fields", "missing (it is required: what to extract)");
    } else {
        read_fields(r, f, path + ".fields", out.fields);
        if (out.fields.empty()) r.problem(f, path + ".fields", "no fields: nothing to extract");
    }
}

const std::set<std::string>& node_types() {
    static const std::set<std::string> types = {"scan_product", "validate", "save"};
    return types;
}

void read_workflow(yaml_reader& r, const YAML::Node& n, std::vector<node_spec>& out) {
    if (!n.IsSequence() || n.size() == 0) {
        r.problem(n, "workflow", "expected a list of nodes ({id, type, depends_on})");
        return;
    }
    std::vector<node_spec> nodes;
    std::vector<YAML::Node> at;
    for (std::size_t i = 0; i < n.size(); ++i) {
        const std::string p = "workflow[" + std::to_string(i) + "]";
        if (!r.expect_map(n[i], p, {"id", "type", "depends_on", "sinks"})) continue;
        node_spec s;
        s.id = r.text(n[i], p, "id", true).value_or("");
        s.type = r.text(n[i], p, "type", true).value_or("");
        if (!s.type.empty() && !node_types().count(s.type)) {
            r.problem(n[i]["type"], p + ".type",
                      "'" + s.type + "' is not a node type (scan_product, validate, save)");
        }
        if (auto v = r.texts(n[i], p, "depends_on")) s.depends_on = *v;
        if (auto v = r.texts(n[i], p, "sinks")) s.sinks = *v;
        nodes.push_back(std::move(s));
        at.push_back(n[i]);
    }
    // Order: every node after its dependencies (Kahn); unknown ids and cycles are problems.
    std::set<std::string> ids;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (!ids.insert(nodes[i].id).second) {
            r.problem(at[i], "workflow", "node id '" + nodes[i].id + "' is used twice");
        }
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        for (const auto& d : nodes[i].depends_on) {
            if (!ids.count(d)) {
                r.problem(at[i]["depends_on"], "workflow." + nodes[i].id + ".depends_on",
                          "'" + d + "' is not a node of this workflow");
            }
        }
    }
    std::set<std::string> placed;
    std::vector<bool> used(nodes.size(), false);
    for (bool progress = true; progress;) {
        progress = false;
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            if (used[i]) continue;
            bool ready = true;
            for (const auto& d : nodes[i].depends_on)
                ready = ready && (placed.count(d) || !ids.count(d));
            if (!ready) continue;
            used[i] = true;
            placed.insert(nodes[i].id);
            out.push_back(nodes[i]);
            progress = true;
        }
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (!used[i]) {
            r.problem(at[i], "workflow." + nodes[i].id,
                      "depends on itself through a cycle of depends_on");
        }
    }
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
                       "timeouts", "browser", "scan", "workflow", "sinks"})) {
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
    if (auto v = r.text(root, "", "url_template", c.type == worker_type::browser)) {
        c.url_template = *v;
        if (c.url_template.find("{id}") == std::string::npos) {
            r.problem(root["url_template"], "url_template", "has no {id}");
        }
        if (c.url_template.rfind("http://", 0) != 0 && c.url_template.rfind("https://", 0) != 0) {
            r.problem(root["url_template"], "url_template", "must start with http:// or https://");
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
    if (const auto n = root["scan"]; n.IsDefined() && !n.IsNull()) {
        read_scan(r, n, c.scan);
    } else if (c.type == worker_type::browser) {
        r.problem(root, "scan", "missing (a browser platform says what to extract)");
    }
    if (const auto n = root["sinks"]; n.IsDefined() && !n.IsNull()) {
        if (r.expect_map(n, "sinks", {"jsonl"})) {
            if (const auto j = n["jsonl"]; j.IsDefined()) {
                jsonl_sink_spec s;
                if (j.IsNull() || r.expect_map(j, "sinks.jsonl", {"dir"})) {
                    if (!j.IsNull()) {
                        if (auto d = r.text(j, "sinks.jsonl", "dir")) s.dir = *d;
                    }
                    c.jsonl = s;
                }
            }
        }
    }
    if (const auto n = root["workflow"]; n.IsDefined() && !n.IsNull()) {
        read_workflow(r, n, c.workflow);
        for (const auto& node : c.workflow) {
            for (const auto& s : node.sinks) {
                if (s != "jsonl" || !c.jsonl) {
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
    if (c.type == worker_type::browser && !c.workflow.empty()) {
        std::size_t scans = 0, saves = 0;
        for (const auto& node : c.workflow) {
            scans += node.type == "scan_product";
            saves += node.type == "save";
        }
        if (scans != 1) {
            r.problem(root["workflow"], "workflow",
                      "a browser workflow has exactly one scan_product node (it has " +
                          std::to_string(scans) + ")");
        } else if (c.workflow.front().type != "scan_product") {
            r.problem(root["workflow"], "workflow",
                      "the scan_product node must come first (give the others depends_on)");
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
