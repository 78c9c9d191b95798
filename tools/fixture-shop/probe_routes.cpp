#include "probe_routes.hpp"

#include <nlohmann/json.hpp>

#include <cctype>

namespace rotor::fixture {
namespace {

constexpr std::string_view html_type = "text/html; charset=utf-8";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out.push_back(' ');
        } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
                   hex_value(text[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

std::string attribute(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out.push_back(c);
        }
    }
    return out;
}

// A JavaScript string literal that is safe inside a <script> element.
std::string script_string(std::string_view text) {
    std::string out;
    for (char c : nlohmann::json(std::string(text)).dump()) {
        if (c == '<') {
            out += "\\u003c";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string page(std::string_view title, std::string_view body) {
    return "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + std::string(title) +
           "</title></head>\n<body>\n<p id=\"result\">pending</p>\n" + std::string(body) +
           "\n</body></html>\n";
}

probe_reply html(std::string route, std::string body) {
    return {std::move(route), 200, std::move(body), std::string(html_type), {}};
}

// Sets #result once: "loaded" or "error" from an element's load/error events.
constexpr std::string_view report_js = "const report = (r) => { const e = "
                                       "document.getElementById('result'); if (e.textContent === "
                                       "'pending') e.textContent = r; };";

std::string subresource_body(std::string_view kind, const std::string& src) {
    const std::string events = " onload=\"report('loaded')\" onerror=\"report('error')\"";
    std::string element;
    if (kind == "script") {
        element = "<script src=\"" + attribute(src) + "\"" + events + "></script>";
    } else if (kind == "css") {
        element = "<link rel=\"stylesheet\" href=\"" + attribute(src) + "\"" + events + ">";
    } else if (kind == "websocket") {
        element =
            "<script>const ws = new WebSocket(" + script_string(src) +
            "); ws.onopen = () => report('open'); ws.onerror = () => report('error');</script>";
    } else if (kind == "fetch") {
        element = "<script>fetch(" + script_string(src) +
                  ", {mode: 'no-cors'}).then(() => report('loaded'), (e) => report('error ' + "
                  "e));</script>";
    } else {
        element = "<img id=\"probe\" src=\"" + attribute(src) + "\"" + events + ">";
    }
    return page("subresource", "<script>" + std::string(report_js) + "</script>\n" + element);
}

std::string frame_body(const std::string& src) {
    // The iframe's load event fires for a blocked or refused child as well: "loaded" only says
    // the frame settled, not what it shows.
    return page("frame", "<script>" + std::string(report_js) +
                             "</script>\n<iframe id=\"child\" src=\"" + attribute(src) +
                             "\" onload=\"report('loaded')\"></iframe>");
}

std::string worker_body(const std::string& src) {
    std::string worker_url = "/worker.js?src=";
    for (unsigned char c : src) {
        constexpr char digits[] = "0123456789ABCDEF";
        if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            worker_url.push_back(static_cast<char>(c));
        } else {
            worker_url += {'%', digits[c >> 4], digits[c & 15]};
        }
    }
    return page("worker", "<script>" + std::string(report_js) + "\nconst w = new Worker(" +
                              script_string(worker_url) +
                              ");\nw.onmessage = (m) => report(m.data);\nw.onerror = () => "
                              "report('worker error');</script>");
}

std::string worker_js(const std::string& src) {
    // A same-origin answer is readable: its first 2000 characters follow the type.
    return "fetch(" + script_string(src) +
           ", {mode: 'no-cors'}).then(async (r) => postMessage('fetched ' + r.type + ' ' + "
           "(r.type === 'opaque' ? '' : (await r.text()).slice(0, 2000))), (e) => "
           "postMessage('error ' + e));\n";
}

} // namespace

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == name) {
            return eq == std::string_view::npos ? std::string()
                                                : percent_decode(pair.substr(eq + 1));
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

std::optional<probe_reply> probe_route(std::string_view path, std::string_view query) {
    std::string route;
    std::string_view param = "src";
    if (path == "/redirect-to") {
        route = "redirect_to";
        param = "url";
    } else if (path == "/frame") {
        route = "frame";
    } else if (path == "/subresource") {
        route = "subresource";
    } else if (path == "/worker") {
        route = "worker";
    } else if (path == "/worker.js") {
        route = "worker_script";
    } else {
        return std::nullopt;
    }
    const std::optional<std::string> target = query_param(query, param);
    if (!target || target->empty()) {
        return probe_reply{route,
                           400,
                           std::string(path) + ": missing query parameter " + std::string(param) +
                               "\n",
                           "text/plain",
                           {}};
    }
    if (route == "redirect_to") return probe_reply{route, 302, "", "text/plain", *target};
    if (route == "frame") return html(route, frame_body(*target));
    if (route == "subresource") {
        return html(route, subresource_body(query_param(query, "kind").value_or("img"), *target));
    }
    if (route == "worker") return html(route, worker_body(*target));
    return probe_reply{route, 200, worker_js(*target), "text/javascript", {}};
}

} // namespace rotor::fixture
