#include "nodes/api_fetch_node.hpp"

#include "nodes/body_template.hpp"
#include "nodes/detail/status_rules.hpp"
#include "nodes/field_values.hpp"

#include <algorithm>
#include <chrono>

namespace rotor::nodes {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using detail::ms_since;
using detail::status_verdict;

namespace {

bool has_header(const std::map<std::string, std::string>& headers, const std::string& name) {
    return std::any_of(headers.begin(), headers.end(), [&](const auto& h) {
        return std::equal(h.first.begin(), h.first.end(), name.begin(), name.end(),
                          [](char a, char b) { return std::tolower(a) == std::tolower(b); });
    });
}

// The first GraphQL error message of an answer, if it has one.
std::string graphql_error(const nlohmann::json& doc) {
    if (!doc.is_object()) return "";
    const auto it = doc.find("errors");
    if (it == doc.end() || !it->is_array() || it->empty()) return "";
    const auto& first = it->front();
    if (first.is_object() && first.contains("message") && first["message"].is_string()) {
        return first["message"].get<std::string>();
    }
    return first.is_string() ? first.get<std::string>().substr(0, 200) : "an error";
}

} // namespace

std::string ambiguous_url(const std::string& url) {
    // The policy reads URLs as the URL standard does, libcurl as RFC 3986 does; where they part
    // ways (a backslash ends the host for one and not the other, an '@' splits user and host)
    // a URL could pass the policy's host check and reach another host. Such URLs are refused.
    for (const char c : url) {
        if (c == '\\') return "a backslash";
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            return "a space or control character";
    }
    const auto scheme = url.find("://");
    const auto start = scheme == std::string::npos ? 0 : scheme + 3;
    const auto end = url.find_first_of("/?#", start);
    if (url.substr(start, end == std::string::npos ? std::string::npos : end - start).find('@') !=
        std::string::npos) {
        return "user information (an '@' before the host)";
    }
    return "";
}

nlohmann::json parse_answer(const std::string& body, std::string& problem) {
    // nlohmann parses without recursion but dumps and copies recursively, and a parser callback
    // still builds every level: the nesting is measured first, in one pass over the bytes (no
    // allocation), and an answer deeper than any product needs is refused.
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : body) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_answer_depth) {
                problem = "nested deeper than " + std::to_string(max_answer_depth) + " levels";
                return nullptr;
            }
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    auto doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_discarded()) problem = "not JSON";
    return doc;
}

http::client_options http_options_for(const platform_config& config) {
    http::client_options o;
    cdp::url_policy_options po;
    po.allow_private_addresses = config.api.allow_private_addresses;
    auto policy = std::make_shared<cdp::url_policy>(config.allowed_hosts, po);
    o.guard = [policy](std::string_view url, std::string_view address) {
        const auto c = policy->check_address(url, address);
        return c.allowed ? std::string() : c.reason;
    };
    o.max_host_connections = config.api.max_connections;
    return o;
}

api_fetch_node::api_fetch_node(std::string id, const platform_config& config, http::client& http,
                               queue::rate_limiter* limiter, asio::thread_pool& blocking)
    : id_(std::move(id)), config_(config), http_(http), urls_(config),
      polite_(config, limiter, blocking) {
    if (!config.api.found.empty()) found_.emplace(config.api.found);
    for (const auto& f : config.api.fields) {
        pointers_.emplace_back(f.pointer);
        regexes_.push_back(f.regex ? std::optional<std::regex>(std::regex(*f.regex))
                                   : std::nullopt);
    }
}

asio::awaitable<item_outcome> api_fetch_node::run(item_context& item) {
    if (item.url.empty()) {
        const auto built = urls_.url_for(item.id);
        if (!built.problem.empty()) {
            ++counters_.refused;
            co_return item_outcome::failed(built.problem);
        }
        item.url = built.url;
    } else if (const auto check = urls_.policy().check(item.url); !check.allowed) {
        ++counters_.refused; // a URL given whole (rotorctl probe): the same hosts rule
        co_return item_outcome::failed("refused: " + check.reason);
    }
    const auto& api = config_.api;
    http::request req;
    req.method = api.method;
    req.max_body = api.max_body_bytes;
    for (const auto& [name, value] : api.headers) req.headers.emplace_back(name, value);
    if (!has_header(api.headers, "Accept")) req.headers.emplace_back("Accept", "application/json");
    if (api.body) {
        std::string problem;
        auto body = render_template(*api.body, item.id, item.data, problem);
        if (!problem.empty()) co_return item_outcome::failed(problem);
        if (!api.graphql_query.empty()) {
            nlohmann::json doc = {{"query", api.graphql_query}, {"variables", std::move(body)}};
            body = std::move(doc);
        }
        req.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        if (!has_header(api.headers, "Content-Type")) {
            req.headers.emplace_back("Content-Type", "application/json");
        }
    }

    auto t0 = clock_type::now();
    if (!co_await polite_.wait(item)) co_return item_outcome::abandoned("stopped while waiting");
    item.timings["polite_wait_ms"] = ms_since(t0);
    item.deadline = clock_type::now() + config_.timeouts.item; // waiting is not the item's time

    t0 = clock_type::now();
    std::string url = item.url;
    http::response res;
    for (int redirects = 0;; ++redirects) {
        if (const auto why = ambiguous_url(url); !why.empty()) {
            ++counters_.refused;
            co_return item_outcome::failed("refused: " + url.substr(0, 200) + " has " + why);
        }
        if (redirects > 0) {
            // A hop is a request too: it waits for the rate, and that wait is not the item's.
            const auto waited_from = clock_type::now();
            if (!co_await polite_.wait(item)) {
                co_return item_outcome::abandoned("stopped while waiting");
            }
            item.deadline += clock_type::now() - waited_from;
        }
        req.url = url;
        req.timeout =
            std::min(config_.timeouts.request, std::max(milliseconds(1), item.remaining()));
        req.connect_timeout = std::min(milliseconds(10000), req.timeout);
        ++counters_.requests;
        try {
            auto fetch = http_.fetch(req);
            res = co_await std::move(fetch);
        } catch (const http::error& e) {
            switch (e.kind()) {
            case http::errc::refused:
                ++counters_.refused;
                co_return item_outcome::failed(e.what());
            case http::errc::too_large:
                co_return item_outcome::failed(e.what());
            case http::errc::shut_down:
                co_return item_outcome::abandoned(e.what());
            case http::errc::timeout:
                co_return item_outcome::retry(std::string("request timeout: ") + e.what());
            default:
                co_return item_outcome::retry(e.what());
            }
        }
        if (res.status < 300 || res.status >= 400 || res.redirect_url.empty()) break;
        if (req.method != "GET") {
            co_return item_outcome::failed("HTTP " + std::to_string(res.status) + " from " + url +
                                           ": a " + req.method + " is not redirected");
        }
        if (redirects + 1 > max_redirects) {
            co_return item_outcome::failed("more than " + std::to_string(max_redirects) +
                                           " redirects from " + item.url);
        }
        if (const auto check = urls_.policy().check(res.redirect_url); !check.allowed) {
            ++counters_.refused;
            co_return item_outcome::failed("redirect from " + url + " refused: " + check.reason);
        }
        url = res.redirect_url;
    }
    item.timings["request_ms"] = ms_since(t0);
    item.http_status = res.status;
    if (url != item.url) item.timings["redirected_to"] = url;

    const int s = res.status;
    const std::string what = "HTTP " + std::to_string(s) + " from " + url;
    switch (detail::judge_status(config_, s)) {
    case status_verdict::gone:
        co_return item_outcome::gone("HTTP " + std::to_string(s));
    case status_verdict::cool_down:
    case status_verdict::blocked:
        ++counters_.cooldowns;
        co_return co_await polite_.cool_down(what);
    case status_verdict::retry:
        co_return item_outcome::retry(what);
    case status_verdict::fail:
        co_return item_outcome::failed(what);
    case status_verdict::proceed:
        break;
    }
    // A redirect without a Location, an informational status: not an answer to read.
    if (s >= 300 || s < 200) co_return item_outcome::failed(what);
    co_return read_answer(item, res);
}

item_outcome api_fetch_node::read_answer(item_context& item, const http::response& res) {
    std::string problem;
    const auto doc = parse_answer(res.body, problem);
    if (!problem.empty()) {
        std::string start = res.body.substr(0, 120);
        for (auto& c : start) {
            if (static_cast<unsigned char>(c) < 0x20) c = ' ';
        }
        return item_outcome::failed(
            "the answer from " + item.url + " is " + problem + " (" +
            (res.content_type.empty() ? "no content type" : res.content_type) + "): " + start);
    }
    const std::string gql = graphql_error(doc);
    const auto& api = config_.api;
    if (found_) {
        // Gone only when the answer says so: `found` itself present and null (GraphQL's
        // {"data": {"product": null}}). An error envelope without it ({"errors": [...],
        // "data": null}) is the server's trouble: retried, then recorded.
        const auto& at = *found_;
        if (doc.contains(at) && doc.at(at).is_null()) {
            return item_outcome::gone("not found: " + api.found + " is null" +
                                      (gql.empty() ? "" : " (" + gql + ")"));
        }
        if (!doc.contains(at)) {
            return item_outcome::retry("the answer from " + item.url + " has no " + api.found +
                                       (gql.empty() ? "" : " (" + gql + ")"));
        }
    }
    for (std::size_t i = 0; i < api.fields.size(); ++i) {
        const auto& f = api.fields[i];
        const auto& at = pointers_[i];
        const nlohmann::json* found = doc.contains(at) ? &doc.at(at) : nullptr;
        const auto v = convert_json_field(f, found, regexes_[i] ? &*regexes_[i] : nullptr);
        item.fields[f.name] = v.value;
        if (!v.problem.empty()) {
            item.problems[f.name] = v.problem;
        } else if (v.value.is_null() && !gql.empty()) {
            item.problems[f.name] = "missing (the answer's error: " + gql + ")";
        }
    }
    return item_outcome::ok();
}

} // namespace rotor::nodes
