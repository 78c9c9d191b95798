#include "nodes/extract_script.hpp"

namespace rotor::nodes {

const std::string& extract_function() {
    static const std::string source = R"js((fields, blockSelector, blockText) => {
  const out = {};
  for (const f of fields) {
    let el = null;
    try { el = document.querySelector(f.selector); } catch (e) {
      throw new Error('field ' + f.name + ': bad selector ' + f.selector);
    }
    if (!el) { out[f.name] = null; continue; }
    if (f.read === 'html') out[f.name] = el.innerHTML;
    else if (f.read === 'attr') out[f.name] = el.getAttribute(f.attribute);
    else out[f.name] = el.textContent;
  }
  let blocked = false;
  if (blockSelector) { try { blocked = !!document.querySelector(blockSelector); } catch (e) {} }
  if (!blocked && blockText && document.body) blocked = document.body.innerText.includes(blockText);
  return {fields: out, blocked};
})js";
    return source;
}

nlohmann::json extract_arguments(const scan_spec& scan) {
    nlohmann::json fields = nlohmann::json::array();
    for (const auto& f : scan.fields) {
        fields.push_back({{"name", f.name},
                          {"selector", f.selector},
                          {"read", f.read == field_read::html   ? "html"
                                   : f.read == field_read::attr ? "attr"
                                                                : "text"},
                          {"attribute", f.attribute}});
    }
    return nlohmann::json::array({fields, scan.block_detect.selector, scan.block_detect.text});
}

} // namespace rotor::nodes
