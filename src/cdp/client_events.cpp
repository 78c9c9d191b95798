// The incoming side of cdp::client: replies matched to their commands, events dispatched to
// subscriptions, sessions ended by crashes and detaches.
#include "cdp/client.hpp"
#include "cdp/detail/client_impl.hpp"
#include "cdp/detail/incoming_message.hpp"

#include <spdlog/spdlog.h>

namespace rotor::cdp {

using detail::make_error;
using detail::subscriber;

void client::on_message(std::string_view text) {
    auto& im = *impl_;
    auto message = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (message.is_discarded() || !message.is_object()) {
        ++im.malformed;
        // A reply we cannot read (a lone UTF-16 surrogate in a page's string is enough: nlohmann
        // rejects "\ud800") fails its own command now, instead of leaving it to time out.
        if (const auto id = detail::leading_id(text.substr(0, 64))) {
            if (auto call = detail::take_pending(im, *id)) {
                call->timer->cancel();
                call->done.fail(make_error(
                    errc::malformed_response,
                    call->method + ": the reply is not valid JSON (" + std::to_string(text.size()) +
                        " bytes; e.g. a lone UTF-16 surrogate in a string)"));
                return;
            }
        }
        spdlog::warn("cdp: dropped a message that is not a JSON object ({} bytes): {:.120}",
                     text.size(), text);
        return;
    }
    if (auto id_it = message.find("id"); id_it != message.end()) {
        if (!id_it->is_number_unsigned()) {
            ++im.malformed;
            spdlog::warn("cdp: dropped a reply with a non-numeric id: {:.120}", text);
            return;
        }
        auto call = detail::take_pending(im, id_it->get<std::uint64_t>());
        if (!call) {
            ++im.late_replies;
            return;
        }
        call->timer->cancel();
        ++im.replies;
        if (auto err = message.find("error"); err != message.end()) {
            // Read field by field: no shape of `error` may throw here.
            std::string what = call->method + ": ";
            if (err->is_object()) {
                auto message_it = err->find("message");
                what += message_it != err->end() && message_it->is_string()
                            ? message_it->get<std::string>()
                            : std::string("error without message");
                if (auto code = err->find("code"); code != err->end()) {
                    what += " (code " + code->dump() + ")";
                }
                if (auto data = err->find("data"); data != err->end() && data->is_string()) {
                    what += ": " + data->get<std::string>();
                }
            } else {
                what += err->dump();
            }
            call->done.fail(make_error(errc::protocol_error, std::move(what)));
            return;
        }
        auto result = message.find("result");
        call->done.succeed(result != message.end() ? std::move(*result) : json::object());
        return;
    }
    auto method_it = message.find("method");
    if (method_it == message.end() || !method_it->is_string()) {
        ++im.malformed;
        spdlog::warn("cdp: dropped a message with neither id nor method: {:.120}", text);
        return;
    }
    ++im.events;
    const std::string& method = method_it->get_ref<const std::string&>();
    const auto session_it = message.find("sessionId");
    const std::string session = session_it != message.end() && session_it->is_string()
                                    ? session_it->get<std::string>()
                                    : "";
    static const json empty = json::object();
    auto params_it = message.find("params");
    const json& params = params_it != message.end() && params_it->is_object() ? *params_it : empty;

    dispatch_event(session, method, params);

    // Lifecycle events end sessions after their subscribers have seen them.
    if (method == "Target.detachedFromTarget") {
        const std::string ended = params.value("sessionId", std::string());
        if (!ended.empty())
            end_session(ended, errc::target_closed, "target detached (page closed)");
    } else if (method == "Inspector.targetCrashed" && !session.empty()) {
        end_session(session, errc::target_crashed, "renderer crashed");
    } else if (method == "Target.targetCrashed") {
        std::string crashed;
        {
            std::lock_guard lock(im.mutex);
            const std::string target = params.value("targetId", std::string());
            for (const auto& [sid, info] : im.sessions) {
                if (info.target_id == target) crashed = sid;
            }
        }
        if (!crashed.empty()) {
            end_session(crashed, errc::target_crashed,
                        "renderer crashed (status " + params.value("status", std::string("?")) +
                            ", error code " + std::to_string(params.value("errorCode", 0)) + ")");
        }
    }
}

void client::on_oversized(const std::string& prefix, std::size_t size, std::size_t limit) {
    auto& im = *impl_;
    ++im.oversized;
    const std::string sizes =
        std::to_string(size) + " bytes exceeds the limit of " + std::to_string(limit) + " bytes";
    const auto id = detail::leading_id(prefix);
    if (!id) {
        spdlog::warn("cdp: dropped a message of {}: {:.120}", sizes, prefix);
        return;
    }
    auto call = detail::take_pending(im, *id);
    if (!call) {
        ++im.late_replies;
        spdlog::warn("cdp: dropped a late reply (id {}) of {}", *id, sizes);
        return;
    }
    call->timer->cancel();
    ++im.replies;
    spdlog::warn("cdp: {}: reply of {} (dropped)", call->method, sizes);
    call->done.fail(make_error(errc::reply_too_large, call->method + ": reply of " + sizes));
}

void client::dispatch_event(const std::string& session, const std::string& method,
                            const json& params) {
    auto& im = *impl_;
    std::vector<std::shared_ptr<subscriber>> matched;
    {
        std::lock_guard lock(im.mutex);
        auto it = im.subscribers.find(session);
        if (it == im.subscribers.end()) return;
        for (const auto& s : it->second) {
            if (s->method == method) matched.push_back(s);
        }
    }
    for (const auto& s : matched) {
        if (s->active && s->handlers.on_event) {
            detail::run_guarded(im, "a handler of " + method,
                                [&] { s->handlers.on_event(params); });
        }
    }
}

// ---- sessions and subscriptions -------------------------------------------------------------

subscription client::subscribe(const std::string& session_id, std::string method,
                               event_handlers handlers) {
    auto& im = *impl_;
    auto s = std::make_shared<subscriber>();
    s->method = std::move(method);
    s->handlers = std::move(handlers);
    std::optional<error> already;
    {
        std::lock_guard lock(im.mutex);
        s->id = ++im.next_subscriber;
        if (!im.close_reason.empty()) {
            already.emplace(errc::browser_closed, im.close_reason);
        } else if (auto it = im.sessions.find(session_id);
                   it != im.sessions.end() && it->second.ended) {
            already.emplace(it->second.ended->code, it->second.ended->why);
        } else {
            im.subscribers[session_id].push_back(s);
            ++im.subscription_count;
        }
    }
    if (already) {
        if (s->handlers.on_close) {
            detail::run_guarded(im, "the close handler of " + s->method,
                                [&] { s->handlers.on_close(*already); });
        }
        return {};
    }
    return subscription(weak_from_this(), session_id, s->id);
}

void client::unsubscribe(const std::string& session, std::uint64_t id) {
    auto& im = *impl_;
    std::lock_guard lock(im.mutex);
    auto it = im.subscribers.find(session);
    if (it == im.subscribers.end()) return;
    auto& list = it->second;
    for (auto s = list.begin(); s != list.end(); ++s) {
        if ((*s)->id == id) {
            (*s)->active = false;
            list.erase(s);
            --im.subscription_count;
            break;
        }
    }
    if (list.empty()) im.subscribers.erase(it);
}

void client::track_target(const std::string& target_id, const std::string& session_id) {
    std::lock_guard lock(impl_->mutex);
    impl_->sessions[session_id].target_id = target_id;
}

void client::forget_session(const std::string& session_id) {
    auto& im = *impl_;
    std::lock_guard lock(im.mutex);
    im.sessions.erase(session_id);
    if (auto it = im.subscribers.find(session_id); it != im.subscribers.end()) {
        for (auto& s : it->second) s->active = false;
        im.subscription_count -= it->second.size();
        im.subscribers.erase(it);
    }
}

void client::end_session(const std::string& session_id, errc code, const std::string& why) {
    // On the caller's thread, like close(): the session's calls are in the shared table.
    auto& im = *impl_;
    std::vector<std::shared_ptr<subscriber>> dropped;
    std::vector<detail::pending_call> failed;
    {
        std::lock_guard lock(im.mutex);
        if (auto it = im.sessions.find(session_id); it != im.sessions.end()) {
            if (it->second.ended) return;
            it->second.ended = detail::ended_session{code, why};
        }
        if (auto it = im.subscribers.find(session_id); it != im.subscribers.end()) {
            dropped = std::move(it->second);
            im.subscribers.erase(it);
            im.subscription_count -= dropped.size();
        }
        for (auto it = im.pending.begin(); it != im.pending.end();) {
            if (it->second.session == session_id) {
                failed.push_back(std::move(it->second));
                it = im.pending.erase(it);
            } else {
                ++it;
            }
        }
        im.pending_count = im.pending.size();
    }
    for (auto& call : failed) {
        call.timer->cancel();
        call.done.fail(make_error(code, call.method + ": " + why));
    }
    const error reason(code, why);
    for (auto& s : dropped) {
        if (s->active.exchange(false) && s->handlers.on_close) {
            detail::run_guarded(im, "the close handler of " + s->method,
                                [&] { s->handlers.on_close(reason); });
        }
    }
}

} // namespace rotor::cdp
