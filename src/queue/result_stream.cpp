#include "queue/result_stream.hpp"

#include "queue/detail/lua_scripts.hpp"
#include "queue/errors.hpp"

namespace rotor::queue {

result_stream::result_stream(redis_options redis, stream_options options)
    : options_(std::move(options)),
      conn_(std::move(redis)), add_{"stream_add", detail::stream_add_lua, {}} {
    if (options_.key.empty()) throw error(errc::invalid_argument, "result stream: no key");
    if (options_.maxlen == 0) throw error(errc::invalid_argument, "result stream: maxlen is 0");
}

std::string result_stream::add(const std::string& run, const std::string& item,
                               const std::string& outcome,
                               const std::vector<std::pair<std::string, std::string>>& fields) {
    std::vector<std::string> args = {item + "|" + outcome, std::to_string(options_.maxlen),
                                     std::to_string(options_.seen_ttl.count())};
    for (const auto& [k, v] : fields) {
        args.push_back(k);
        args.push_back(v);
    }
    std::lock_guard lock(mutex_);
    try {
        return conn_.eval(add_, {options_.key, options_.key + ":seen:" + run}, args).as_string();
    } catch (const error& e) {
        throw error(e.kind(), "stream " + options_.key + ": adding item " + item + " of " + run +
                                  ": " + e.what());
    }
}

} // namespace rotor::queue
