#include "pages.hpp"

#include <string_view>

namespace rotor::fixture {
namespace {

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
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

std::string_view schema_availability(stock_status stock) {
    switch (stock) {
    case stock_status::in_stock:
        return "https://schema.org/InStock";
    case stock_status::low_stock:
        return "https://schema.org/LimitedAvailability";
    case stock_status::out_of_stock:
        return "https://schema.org/OutOfStock";
    }
    return "https://schema.org/InStock";
}

// Deterministic filler so the page weighs what a real product page does.
std::string description_paragraphs(std::uint64_t id) {
    constexpr std::string_view words[] = {
        "hydrating", "gentle",       "daily",   "barrier",   "soothing", "formula", "skin",
        "texture",   "absorbs",      "quickly", "sensitive", "tested",   "calming", "fresh",
        "moisture",  "long-lasting", "glow",    "balanced",  "vegan",    "extract"};
    std::string out;
    std::uint64_t seed = id * 2654435761u + 1;
    for (int para = 0; para < 60; ++para) {
        out += "<p class=\"desc\">";
        for (int w = 0; w < 64; ++w) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            out += words[(seed >> 33) % std::size(words)];
            out.push_back(' ');
        }
        out += "</p>\n";
    }
    return out;
}

} // namespace

std::string product_page_html(const product& p) {
    const std::string id = std::to_string(p.id);
    const std::string name = html_escape(p.name);
    std::string html;
    html.reserve(48 * 1024);
    html += "<!doctype html>\n<html lang=\"ko\"><head><meta charset=\"utf-8\">\n";
    html += "<title>" + name + " | fixture shop</title>\n";
    html += "<link rel=\"stylesheet\" href=\"/static/shop.css\">\n";
    html += "<script type=\"application/ld+json\">";
    nlohmann::json ld = {{"@context", "https://schema.org"},
                         {"@type", "Product"},
                         {"sku", id},
                         {"name", p.name},
                         {"offers",
                          {{"@type", "Offer"},
                           {"priceCurrency", "KRW"},
                           {"price", p.price},
                           {"availability", schema_availability(p.stock)}}}};
    html += ld.dump();
    html += "</script>\n</head>\n<body>\n<main class=\"product\" data-product-id=\"" + id + "\">\n";
    html += "<h1 class=\"product-name\">" + name + "</h1>\n";
    if (p.kind == product_kind::infinite_loop) {
        // Blocks the parser and the renderer's main thread for good; a beacon first, so that a
        // test can tell that the loop has begun (/spin-started/{id}).
        html += "<script>navigator.sendBeacon('/spin-started/" + id + "');for (;;) {}</script>\n";
    }
    html += "<div class=\"price-box\">판매가 <span id=\"price\" class=\"price\"></span></div>\n";
    html += "<div class=\"stock\" data-stock=\"" + std::string(to_string(p.stock)) + "\">" +
            std::string(p.stock == stock_status::out_of_stock ? "품절" : "구매 가능") + "</div>\n";
    html += "<div class=\"gallery\">\n";
    for (int n = 1; n <= images_per_page; ++n) {
        html += "<img alt=\"\" width=\"240\" height=\"240\" src=\"/img/" + id + "/" +
                std::to_string(n) + ".svg\">\n";
    }
    if (p.kind == product_kind::never_loads) {
        html += "<img alt=\"\" src=\"/hang/" + id + "\">\n";
    }
    html += "</div>\n<section class=\"description\">\n";
    html += description_paragraphs(p.id);
    html += "</section>\n</main>\n<script>\n";
    if (p.kind != product_kind::price_never && p.kind != product_kind::heap_hog) {
        html += "document.addEventListener('DOMContentLoaded', function () {\n"
                "  setTimeout(function () {\n"
                "    var el = document.getElementById('price');\n"
                "    el.textContent = '" +
                format_price(p.price) + "';\n    el.dataset.value = '" + std::to_string(p.price) +
                "';\n  }, " + std::to_string(price_delay_ms(p.id)) + ");\n});\n";
    }
    if (p.kind == product_kind::heap_hog) {
        // Small objects on the JS heap (not typed arrays, whose memory lies outside it), after
        // load: V8 runs out of its heap limit and the renderer dies.
        html += "window.addEventListener('load', function () { setTimeout(function () {\n"
                "  window.__heap = [];\n"
                "  for (var i = 0; i < 512; i++) { var o = [];\n"
                "    for (var j = 0; j < 32768; j++) o.push({v: j + 0.5});\n"
                "    window.__heap.push(o); }\n}, 50); });\n";
    }
    if (p.kind == product_kind::memory_heavy) {
        // 8 MB typed arrays, each written so the pages are really committed.
        html += "window.__hog = [];\nfor (var i = 0; i < " +
                std::to_string(memory_heavy_mb(p.id) / 8) +
                "; i++) { var a = new Float64Array(1048576); a.fill(i + 0.5); "
                "window.__hog.push(a); }\n";
    }
    html += "</script>\n</body></html>\n";
    return html;
}

std::string error_page_html(std::uint64_t id, int status) {
    return "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + std::to_string(status) +
           "</title></head><body><h1 class=\"error\" data-status=\"" + std::to_string(status) +
           "\">" +
           (status == 404   ? std::string("상품을 찾을 수 없습니다")
            : status == 410 ? std::string("판매 종료된 상품입니다")
                            : std::string("일시적인 오류입니다")) +
           "</h1><p class=\"product-id\">" + std::to_string(id) + "</p></body></html>\n";
}

std::string many_resources_html(int n) {
    std::string html = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" +
                       std::to_string(n) + " resources</title></head><body>\n";
    for (int i = 1; i <= n; ++i) {
        html += "<img width=\"1\" height=\"1\" src=\"/dot/" + std::to_string(i) + ".gif\">";
    }
    html += "\n</body></html>\n";
    return html;
}

std::string dot_gif() {
    static const unsigned char bytes[] = {
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
        0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};
    return {reinterpret_cast<const char*>(bytes), sizeof bytes};
}

std::string stylesheet_css() {
    std::string css = "@font-face { font-family: 'ShopSans'; src: url('/static/shop-font.woff2') "
                      "format('woff2'); font-display: swap; }\n"
                      "body { font-family: 'ShopSans', sans-serif; margin: 0; color: #222; }\n"
                      ".product { max-width: 960px; margin: 0 auto; padding: 24px; }\n"
                      ".product-name { font-size: 28px; }\n"
                      ".price { font-weight: bold; color: #d33; }\n"
                      ".gallery img { display: inline-block; margin: 4px; }\n";
    for (int i = 0; i < 60; ++i) {
        css += ".desc:nth-child(" + std::to_string(i) +
               ") { line-height: " + std::to_string(120 + i) + "%; letter-spacing: 0." +
               std::to_string(i % 10) + "px; }\n";
    }
    return css;
}

std::string image_svg(std::uint64_t id, int n) {
    std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"240\" height=\"240\">";
    const auto hue = (id * 37 + static_cast<std::uint64_t>(n) * 53) % 360;
    for (int i = 0; i < 24; ++i) {
        svg += "<circle cx=\"" + std::to_string((i * 47 + n * 13) % 240) + "\" cy=\"" +
               std::to_string((i * 29 + n * 7) % 240) + "\" r=\"" + std::to_string(8 + i % 20) +
               "\" fill=\"hsl(" + std::to_string((hue + i * 15) % 360) + ",70%,60%)\"/>";
    }
    svg += "</svg>";
    return svg;
}

std::string font_bytes() {
    std::string bytes = "wOF2";
    bytes.resize(16 * 1024);
    for (std::size_t i = 4; i < bytes.size(); ++i) {
        bytes[i] = static_cast<char>((i * 131) & 0xff);
    }
    return bytes;
}

nlohmann::json product_json(const product& p) {
    return {{"id", std::to_string(p.id)},
            {"name", p.name},
            {"price", p.price},
            {"currency", "KRW"},
            {"stock", to_string(p.stock)}};
}

} // namespace rotor::fixture
