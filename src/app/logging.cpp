#include "app/logging.hpp"

#include "nodes/log_fields.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

namespace rotor::app {
namespace {

/// The message and its structured fields (nodes/log_fields.hpp), split.
struct split_message {
    std::string text;
    nlohmann::json fields; // an object, or null
};

split_message split(const spdlog::details::log_msg& msg) {
    const std::string payload(msg.payload.data(), msg.payload.size());
    const auto mark = payload.rfind(nodes::kLogFieldsMark);
    if (mark == std::string::npos) return {payload, nullptr};
    auto fields = nlohmann::json::parse(payload.substr(mark + 1), nullptr, false);
    if (!fields.is_object()) return {payload, nullptr};
    return {payload.substr(0, mark), std::move(fields)};
}

// %* in the JSON pattern: the message, escaped for a JSON string, its closing quote, then each
// structured field as a member of the line's object (names the line has already are skipped).
class json_message final : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const auto m = split(msg);
        std::string text = json_escaped(m.text) + '"';
        if (m.fields.is_object()) {
            for (const auto& [key, value] : m.fields.items()) {
                if (key == "time" || key == "level" || key == "logger" || key == "msg") continue;
                text += ",\"" + json_escaped(key) + "\":" +
                        value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            }
        }
        dest.append(text.data(), text.data() + text.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<json_message>();
    }
};

// %* in the text pattern: the message, then its fields as key=value.
class text_message final : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const auto m = split(msg);
        std::string text = m.text;
        if (m.fields.is_object()) {
            for (const auto& [key, value] : m.fields.items()) {
                // Strings bare unless a newline, a space or a quote could split or forge a line.
                std::string v = value.is_string() ? value.get<std::string>() : std::string();
                if (!value.is_string() || v.find_first_of("\n\r\" ") != std::string::npos)
                    v = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                text += ' ' + key + '=' + v;
            }
        }
        dest.append(text.data(), text.data() + text.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<text_message>();
    }
};

} // namespace

std::string json_escaped(const std::string& text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (const char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char esc[8];
                std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
                out += esc;
            } else {
                out.push_back(c);
            }
        }
    }
    return out;
}

void configure_logging(const std::string& format, const std::string& level) {
    auto logger = spdlog::default_logger();
    auto f = std::make_unique<spdlog::pattern_formatter>();
    if (format == "json") {
        f->add_flag<json_message>('*').set_pattern(
            R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"%n","msg":"%*})");
    } else {
        f->add_flag<text_message>('*').set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n] [%^%l%$] %*");
    }
    logger->set_formatter(std::move(f));
    logger->set_level(spdlog::level::from_str(level));
}

} // namespace rotor::app
