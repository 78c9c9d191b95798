#include "pool/launch_flags.hpp"

#include <algorithm>
#include <stdexcept>

namespace rotor::pool {
namespace {

// Chromium keeps only the last --disable-features, so all of them go in one flag.
std::vector<std::string> disabled_features(process_model model) {
    std::vector<std::string> features = {
        "Translate", "OptimizationHints", "MediaRouter", "AutofillServerCommunication",
        "CalculateNativeWinOcclusion", "InterestFeedContentSuggestions", "DialMediaRouteProvider",
        // Chromium 156 preloads the omnibox's WebUI popup
        // (chrome://omnibox-popup.top-chrome) even headless: a
        // renderer of 65-80 MB PSS that no scrape ever shows.
        "WebUIOmniboxPopup", "WebUIOmniboxAimPopup", "WebUIOmniboxFullPopup"};
    if (model == process_model::lean) {
        // Each forces a new renderer process per same-site navigation or keeps old documents
        // alive; a scraping context visits one site, so they isolate nothing worth the cost.
        for (const char* f :
             {"IsolateOrigins", "site-per-process", "ProactivelySwapBrowsingInstance",
              "RenderDocument", "BackForwardCache",
              // A renderer launched ahead for the next site: one site per context needs none.
              "SpareRendererForSitePerProcess"}) {
            features.emplace_back(f);
        }
    }
    return features;
}

bool removed(const flag_options& options, std::string_view flag) {
    const auto name = flag.substr(0, flag.find('='));
    return std::any_of(options.remove.begin(), options.remove.end(),
                       [&](const std::string& r) { return r == flag || r == name; });
}

} // namespace

std::vector<std::string> base_flags() {
    return {
        "--disable-extensions",
        "--disable-default-apps",
        "--disable-component-extensions-with-background-pages",
        "--disable-blink-features=AutomationControlled",
        "--disable-crash-reporter",
        "--disable-breakpad",
        "--disable-client-side-phishing-detection",
        "--disable-domain-reliability",
        "--disable-hang-monitor",
        "--disable-prompt-on-repost",
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
        "--disable-renderer-backgrounding",
        "--disable-ipc-flooding-protection",
        "--metrics-recording-only",
        "--password-store=basic",
        "--use-mock-keychain",
        "--mute-audio",
        "--hide-scrollbars",
        "--no-pings",
        // Smaller caches and V8 heaps (what Android Go phones run): 5-8% lower peak PSS on the
        // fixture shop for ~4% more CPU per item (bench/flag_ablation.sh).
        "--enable-low-end-device-mode",
    };
}

std::vector<std::string> launch_flags(const flag_options& options, const shm_decision& shm) {
    std::vector<std::string> flags = base_flags();
    // Chromium honours only the last --disable-features (and --enable-features,
    // --disable-blink-features): a platform's own lists are merged into the pool's instead of
    // replacing them.
    std::vector<std::string> feature_list = disabled_features(options.model);
    std::vector<std::string> extra;
    std::string enabled;
    std::string blink_disabled = "AutomationControlled";
    for (const auto& f : options.extra) {
        auto merge_into = [&](std::string_view prefix, auto&& add) {
            if (f.rfind(prefix, 0) != 0) return false;
            std::string_view rest(f);
            rest.remove_prefix(prefix.size());
            while (!rest.empty()) {
                const auto comma = rest.find(',');
                const auto name = rest.substr(0, comma);
                if (!name.empty()) add(std::string(name));
                if (comma == std::string_view::npos) break;
                rest.remove_prefix(comma + 1);
            }
            return true;
        };
        if (merge_into("--disable-features=", [&](std::string name) {
                if (std::find(feature_list.begin(), feature_list.end(), name) == feature_list.end())
                    feature_list.push_back(std::move(name));
            }))
            continue;
        if (merge_into("--disable-blink-features=", [&](std::string name) {
                if (("," + blink_disabled + ",").find("," + name + ",") == std::string::npos)
                    blink_disabled += "," + name;
            }))
            continue;
        if (merge_into("--enable-features=",
                       [&](std::string name) { enabled += (enabled.empty() ? "" : ",") + name; }))
            continue;
        extra.push_back(f);
    }
    std::string features;
    for (const auto& f : feature_list) {
        if (!removed(options, f)) features += (features.empty() ? "" : ",") + f;
    }
    if (!features.empty()) flags.push_back("--disable-features=" + features);
    if (options.model == process_model::lean) {
        flags.emplace_back("--disable-site-isolation-trials");
        const std::size_t limit = options.renderer_process_limit > 0
                                      ? options.renderer_process_limit
                                      : std::max<std::size_t>(2, options.pages_per_browser);
        flags.push_back("--renderer-process-limit=" + std::to_string(limit));
    }
    if (shm.disable_dev_shm_usage) flags.emplace_back("--disable-dev-shm-usage");
    if (!options.user_agent.empty()) flags.push_back("--user-agent=" + options.user_agent);
    if (!options.proxy.empty()) flags.push_back("--proxy-server=" + options.proxy);
    std::erase_if(flags, [&](const std::string& f) { return removed(options, f); });
    if (!enabled.empty()) flags.push_back("--enable-features=" + enabled);
    for (auto& f : flags) {
        if (f.rfind("--disable-blink-features=", 0) == 0)
            f = "--disable-blink-features=" + blink_disabled;
    }
    flags.insert(flags.end(), extra.begin(), extra.end());
    return flags;
}

std::string_view to_string(process_model model) {
    return model == process_model::lean ? "lean" : "isolated";
}

process_model process_model_from_string(std::string_view text) {
    if (text == "lean") return process_model::lean;
    if (text == "isolated") return process_model::isolated;
    throw std::invalid_argument("process_model must be lean or isolated, not '" +
                                std::string(text) + "'");
}

} // namespace rotor::pool
