#include "nodes/detail/config_sections.hpp"

#include "cdp/url_policy.hpp"

#include <algorithm>
#include <regex>
#include <set>

namespace rotor::nodes::detail {

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
static bool parse_wait(const std::string& text, milliseconds& lo, milliseconds& hi,
                       std::string& why) {
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
    if (!r.expect_map(n, path, {"navigation_ms", "wait_ms", "item_ms", "request_ms"})) return;
    if (auto v = r.integer(n, path, "request_ms", 100, 600000)) out.request = milliseconds(*v);
    if (auto v = r.integer(n, path, "navigation_ms", 100, 600000))
        out.navigation = milliseconds(*v);
    if (auto v = r.integer(n, path, "wait_ms", 0, 600000)) out.wait = milliseconds(*v);
    if (auto v = r.integer(n, path, "item_ms", 100, 3600000)) out.item = milliseconds(*v);
}

static std::optional<cdp::resource_type> resource_type_of(const std::string& s) {
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

// A field is read by CSS selector (browser) or by JSON pointer (api).
static void read_fields(yaml_reader& r, const YAML::Node& n, const std::string& path,
                        std::vector<field_spec>& out, bool by_pointer = false) {
    if (!n.IsMap()) {
        r.problem(n, path,
                  by_pointer ? "expected a mapping of field name to {pointer, type, ...}"
                             : "expected a mapping of field name to {selector, read, type, ...}");
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
        if (by_pointer) {
            if (!r.expect_map(spec, p, {"pointer", "regex", "type", "required"})) continue;
            f.pointer = r.text(spec, p, "pointer", true).value_or("");
            try {
                (void)nlohmann::json::json_pointer(f.pointer);
            } catch (const nlohmann::json::exception&) {
                r.problem(spec["pointer"], p + ".pointer",
                          "'" + f.pointer + "' is not a JSON pointer (/data/product/price)");
            }
        } else if (!r.expect_map(spec, p, {"selector", "read", "regex", "type", "required"})) {
            continue;
        } else {
            f.selector = r.text(spec, p, "selector", true).value_or("");
        }
        if (auto v = by_pointer ? std::nullopt : r.text(spec, p, "read")) {
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

static const std::set<std::string>& node_types() {
    static const std::set<std::string> types = {"scan_product", "api_fetch", "validate", "save"};
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
                      "'" + s.type +
                          "' is not a node type (scan_product, api_fetch, validate, save)");
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

std::optional<std::chrono::seconds> parse_duration(const std::string& text) {
    if (text.empty() || text.size() > 12) return std::nullopt;
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0) return std::nullopt;
    const long long n = std::stoll(text.substr(0, digits));
    const std::string unit = text.substr(digits);
    long long scale = 0;
    if (unit.empty() || unit == "s")
        scale = 1;
    else if (unit == "m")
        scale = 60;
    else if (unit == "h")
        scale = 3600;
    else if (unit == "d")
        scale = 86400;
    else
        return std::nullopt;
    return std::chrono::seconds(n * scale);
}

nlohmann::json yaml_to_json(yaml_reader& r, const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return nullptr;
    if (n.IsSequence()) {
        nlohmann::json out = nlohmann::json::array();
        for (std::size_t i = 0; i < n.size(); ++i) {
            out.push_back(yaml_to_json(r, n[i], path + "[" + std::to_string(i) + "]"));
        }
        return out;
    }
    if (n.IsMap()) {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& kv : n) {
            const std::string key = kv.first.Scalar();
            out[key] = yaml_to_json(r, kv.second, path + "." + key);
        }
        return out;
    }
    const auto text = r.scalar(n, path);
    if (!text) return nullptr;
    if (n.Tag() == "!") return *text; // quoted: a string, whatever it reads like
    if (*text == "~" || *text == "null") return nullptr;
    if (*text == "true") return true;
    if (*text == "false") return false;
    auto number = nlohmann::json::parse(*text, nullptr, false);
    if (!number.is_discarded() && number.is_number()) return number;
    return *text;
}

void read_api(yaml_reader& r, const YAML::Node& n, api_spec& out) {
    const std::string path = "api";
    if (!r.expect_map(n, path,
                      {"method", "headers", "body", "graphql", "found", "fields", "max_body_kb",
                       "max_connections", "allow_private_addresses"})) {
        return;
    }
    if (auto v = r.text(n, path, "method")) {
        if (*v == "GET" || *v == "POST" || *v == "PUT" || *v == "PATCH") {
            out.method = *v;
        } else {
            r.problem(n["method"], path + ".method", "'" + *v + "' is not GET, POST, PUT or PATCH");
        }
    }
    if (const auto h = n["headers"]; h.IsDefined() && !h.IsNull()) {
        if (!h.IsMap()) {
            r.problem(h, path + ".headers", "expected a mapping (Header-Name: value)");
        } else {
            for (const auto& kv : h) {
                const std::string name = kv.first.Scalar();
                if (name.empty() || name.find_first_of(": \r\n") != std::string::npos) {
                    r.problem(kv.first, path + ".headers", "'" + name + "' is not a header name");
                    continue;
                }
                if (auto v = r.scalar(kv.second, path + ".headers." + name)) {
                    if (v->find_first_of("\r\n") != std::string::npos) {
                        r.problem(kv.second, path + ".headers." + name, "a line break in a value");
                    } else {
                        out.headers[name] = *v;
                    }
                }
            }
        }
    }
    if (const auto b = n["body"]; b.IsDefined() && !b.IsNull()) {
        out.body = yaml_to_json(r, b, path + ".body");
    }
    if (const auto g = n["graphql"]; g.IsDefined() && !g.IsNull()) {
        const std::string p = path + ".graphql";
        if (r.expect_map(g, p, {"query", "variables"})) {
            out.graphql_query = r.text(g, p, "query", true).value_or("");
            if (out.body) {
                r.problem(g, p, "give graphql (query and variables) or body, not both");
            }
            out.body = g["variables"].IsDefined()
                           ? yaml_to_json(r, g["variables"], p + ".variables")
                           : nlohmann::json::object();
            if (!out.body->is_object()) {
                r.problem(g["variables"], p + ".variables", "expected a mapping");
            }
            if (n["method"].IsDefined() && out.method != "POST") {
                r.problem(n["method"], path + ".method", "a GraphQL request is a POST");
            }
            out.method = "POST";
        }
    }
    if (out.body && out.method == "GET") {
        r.problem(n["body"].IsDefined() ? n["body"] : n, path + ".body",
                  "a GET has no body (method: POST)");
    }
    if (auto v = r.text(n, path, "found")) {
        out.found = *v;
        try {
            (void)nlohmann::json::json_pointer(out.found);
        } catch (const nlohmann::json::exception&) {
            r.problem(n["found"], path + ".found", "'" + *v + "' is not a JSON pointer");
        }
    }
    if (auto v = r.integer(n, path, "max_body_kb", 1, 1024 * 1024)) {
        out.max_body_bytes = static_cast<std::size_t>(*v) * 1024;
    }
    if (auto v = r.integer(n, path, "max_connections", 0, 4096)) {
        out.max_connections = static_cast<long>(*v);
    }
    if (auto v = r.boolean(n, path, "allow_private_addresses")) out.allow_private_addresses = *v;
    const auto f = n["fields"];
    if (!f.IsDefined() || f.IsNull()) {
        r.problem(n, path + ".fields", "missing (it is required: what to read from the answer)");
    } else {
        read_fields(r, f, path + ".fields", out.fields, /*by_pointer=*/true);
        if (out.fields.empty()) r.problem(f, path + ".fields", "no fields: nothing to extract");
    }
}

namespace {

outcome_set read_outcomes(yaml_reader& r, const YAML::Node& n, const std::string& path,
                          const outcome_set& dflt) {
    auto v = r.texts(n, path, "outcomes");
    if (!v) return dflt;
    outcome_set out;
    for (const auto& o : *v) {
        if (o == "ok" || o == "gone" || o == "failed" || o == "cached") {
            out.insert(o);
        } else {
            r.problem(n["outcomes"], path + ".outcomes",
                      "'" + o + "' is not an outcome (ok, gone, failed, cached)");
        }
    }
    if (out.empty()) r.problem(n["outcomes"], path + ".outcomes", "empty: the sink takes nothing");
    return out;
}

bool sql_identifier(const std::string& s, bool dotted) {
    if (s.empty() || s.size() > 127) return false;
    bool start = true;
    int dots = 0;
    for (const char c : s) {
        if (c == '.' && dotted && !start) {
            start = true;
            ++dots;
            continue;
        }
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        const bool digit = c >= '0' && c <= '9';
        if (!(letter || (digit && !start))) return false;
        start = false;
    }
    return !start && dots <= 1;
}

} // namespace

void read_sinks(yaml_reader& r, const YAML::Node& n, platform_config& c) {
    if (!r.expect_map(n, "sinks", {"jsonl", "postgres", "redis_stream"})) return;
    if (const auto j = n["jsonl"]; j.IsDefined()) {
        jsonl_sink_spec s;
        if (j.IsNull() || r.expect_map(j, "sinks.jsonl", {"dir", "outcomes"})) {
            if (!j.IsNull()) {
                if (auto d = r.text(j, "sinks.jsonl", "dir")) s.dir = *d;
                s.outcomes = read_outcomes(r, j, "sinks.jsonl", s.outcomes);
            }
            c.jsonl = s;
        }
    }
    if (const auto pg = n["postgres"]; pg.IsDefined()) {
        const std::string p = "sinks.postgres";
        postgres_sink_spec s;
        if (r.expect_map(pg, p, {"url", "table", "columns", "key", "batch", "outcomes"})) {
            s.url = r.text(pg, p, "url", true).value_or("");
            s.table = r.text(pg, p, "table", true).value_or("");
            if (!s.table.empty() && !sql_identifier(s.table, true)) {
                r.problem(pg["table"], p + ".table",
                          "'" + s.table +
                              "' is not a table name ([schema.]name, letters, digits "
                              "and _)");
            }
            const auto cols = pg["columns"];
            if (!cols.IsDefined() || !cols.IsMap() || cols.size() == 0) {
                r.problem(cols.IsDefined() ? cols : pg, p + ".columns",
                          "expected a mapping of column to source (product_id: item)");
            } else {
                for (const auto& kv : cols) {
                    const std::string col = kv.first.Scalar();
                    if (!sql_identifier(col, false)) {
                        r.problem(kv.first, p + ".columns", "'" + col + "' is not a column name");
                        continue;
                    }
                    if (auto src = r.scalar(kv.second, p + ".columns." + col)) {
                        s.columns.emplace_back(col, *src);
                    }
                }
            }
            if (auto k = r.texts(pg, p, "key")) {
                s.key = *k;
                const std::set<std::string> unique(s.key.begin(), s.key.end());
                if (s.key.empty()) {
                    r.problem(pg["key"], p + ".key", "empty: name the columns of the unique key");
                } else if (unique.size() != s.key.size()) {
                    r.problem(pg["key"], p + ".key", "a column is named twice");
                }
            } else {
                r.problem(pg, p + ".key", "missing: the columns of the table's unique key");
            }
            for (const auto& k : s.key) {
                const bool mapped = std::any_of(s.columns.begin(), s.columns.end(),
                                                [&](const auto& col) { return col.first == k; });
                if (!mapped) {
                    r.problem(pg["key"], p + ".key", "'" + k + "' is not one of the columns");
                }
            }
            if (auto b = r.integer(pg, p, "batch", 1, 10000))
                s.batch = static_cast<std::size_t>(*b);
            s.outcomes = read_outcomes(r, pg, p, s.outcomes);
            c.postgres = s;
        }
    }
    if (const auto rs = n["redis_stream"]; rs.IsDefined()) {
        const std::string p = "sinks.redis_stream";
        redis_stream_sink_spec s;
        if (rs.IsNull() || r.expect_map(rs, p, {"key", "maxlen", "outcomes"})) {
            if (!rs.IsNull()) {
                if (auto k = r.text(rs, p, "key")) s.key = *k;
                if (auto m = r.integer(rs, p, "maxlen", 1, 1000000000)) {
                    s.maxlen = static_cast<std::size_t>(*m);
                }
                s.outcomes = read_outcomes(r, rs, p, s.outcomes);
            }
            c.redis_stream = s;
        }
    }
}

} // namespace rotor::nodes::detail
