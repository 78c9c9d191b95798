#pragma once
// The bodies the fixture shop serves. Pure functions of the product id, like the catalogue.

#include "catalog.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace rotor::fixture {

/// The product page: tens of KB of HTML with a stylesheet, images, a web font, JSON-LD, and a
/// script that fills in #price after price_delay_ms(id) (never, for price_never).
std::string product_page_html(const product& p);
/// The body of a 404/410/500 page; it still names the id so a scraper can read it.
std::string error_page_html(std::uint64_t id, int status);

/// A page with `n` tiny images (`/dot/{1..n}.gif`): a busy page for event-volume tests.
std::string many_resources_html(int n);
/// A 1x1 transparent GIF (43 bytes).
std::string dot_gif();

std::string stylesheet_css();
std::string image_svg(std::uint64_t id, int n);
/// Bytes served as the web font (not a valid font: the browser requests it, then drops it).
std::string font_bytes();

/// The JSON of /api/products/{id} and of a GraphQL `product` field.
nlohmann::json product_json(const product& p);

} // namespace rotor::fixture
