#include "queue/item_id.hpp"

namespace rotor::queue {

bool valid_utf8(std::string_view text) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        const unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        std::size_t n = 0;
        unsigned char lo = 0x80, hi = 0xBF; // the allowed range of the first continuation byte
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0) lo = 0xA0; // overlong
            if (c == 0xED) hi = 0x9F; // surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0) lo = 0x90; // overlong
            if (c == 0xF4) hi = 0x8F; // past U+10FFFF
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) <= n) return false;
        if (p[1] < lo || p[1] > hi) return false;
        for (std::size_t i = 2; i <= n; ++i) {
            if (p[i] < 0x80 || p[i] > 0xBF) return false;
        }
        p += n + 1;
    }
    return true;
}

std::optional<std::string> normalize_item_id(std::string& id) {
    const auto space = [](char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
    };
    std::size_t b = 0, e = id.size();
    while (b < e && space(id[b])) ++b;
    while (e > b && space(id[e - 1])) --e;
    id = id.substr(b, e - b);
    if (id.empty()) return "the id is empty";
    if (id.size() > max_item_id_bytes) {
        return "the id is " + std::to_string(id.size()) + " bytes long (at most " +
               std::to_string(max_item_id_bytes) + ")";
    }
    for (const char ch : id) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7F) return "the id holds a control character";
    }
    if (!valid_utf8(id)) return "the id is not valid UTF-8";
    return std::nullopt;
}

} // namespace rotor::queue
