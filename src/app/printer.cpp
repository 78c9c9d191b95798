#include "app/printer.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <sstream>

namespace rotor::app {

namespace {

std::string dump(const nlohmann::json& v) {
    // A reason may quote a page or Chromium: invalid UTF-8 is replaced, never thrown.
    return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string plain_value(const nlohmann::json& v) {
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        const bool bare = !s.empty() && s.find_first_of(" \t\n\"=") == std::string::npos;
        return bare ? dump(v).substr(1, dump(v).size() - 2) : dump(v);
    }
    return dump(v);
}

} // namespace

output_mode printer::pick(bool json, int fd) {
    if (json) return output_mode::json;
    return ::isatty(fd) == 1 ? output_mode::terminal : output_mode::plain;
}

void printer::line(const nlohmann::json& record) {
    if (mode_ == output_mode::json || !record.is_object()) {
        out_ << dump(record) << '\n';
    } else {
        std::string text;
        for (const auto& [key, value] : record.items()) {
            if (!text.empty()) text += ' ';
            text += key + '=' + plain_value(value);
        }
        out_ << text << '\n';
    }
    out_.flush();
}

void printer::lines_of(const std::string& text) {
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        const auto j = nlohmann::json::parse(l, nullptr, false);
        if (j.is_discarded()) {
            out_ << l << '\n';
        } else {
            line(j);
        }
    }
    out_.flush();
}

std::string progress_bar(double fraction, int width) {
    if (!std::isfinite(fraction)) fraction = 0;
    fraction = std::clamp(fraction, 0.0, 1.0);
    const int full = static_cast<int>(std::floor(fraction * width));
    std::string bar = "[" + std::string(static_cast<std::size_t>(full), '#') +
                      std::string(static_cast<std::size_t>(width - full), '.') + "]";
    char pct[16];
    std::snprintf(pct, sizeof pct, " %3d%%", static_cast<int>(std::floor(fraction * 100)));
    return bar + pct;
}

} // namespace rotor::app
