#pragma once
// A small blocking libcurl client for tests: real HTTP against the fixture shop.

#include <map>
#include <string>

namespace rotor::test {

struct http_result {
    long status = 0; // 0 when the transfer failed
    std::string body;
    std::map<std::string, std::string> headers; // lower-case names
    std::string effective_url;
    std::string error; // libcurl's message when status == 0
};

struct http_request_options {
    bool follow_redirects = false;
    long timeout_ms = 10000;
    std::string post_body; // non-empty: POST with this body
    std::string content_type = "application/json";
};

http_result http_get(const std::string& url, const http_request_options& options = {});
inline http_result http_post(const std::string& url, std::string body) {
    http_request_options options;
    options.post_body = std::move(body);
    return http_get(url, options);
}

} // namespace rotor::test
