#include "nodes/postgres_sink.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <pqxx/pqxx>
#include <set>

namespace rotor::nodes {
namespace {

std::string iso_time(std::int64_t at_ms) {
    const std::time_t t = static_cast<std::time_t>(at_ms / 1000);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char text[40];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    char ms[8];
    std::snprintf(ms, sizeof ms, ".%03dZ", static_cast<int>(at_ms % 1000));
    return std::string(text) + ms;
}

std::optional<std::string> json_text(const nlohmann::json& v) {
    if (v.is_null()) return std::nullopt;
    if (v.is_string()) return v.get<std::string>();
    return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string without_nul(std::string s) {
    s.erase(std::remove(s.begin(), s.end(), '\0'), s.end()); // PostgreSQL text holds no NUL
    return s;
}

// A statement the server refused for a row's values (SQLSTATE classes 22 data exception and 23
// integrity constraint violation): the rows' fault, not the server's or the config's.
class row_error : public std::runtime_error {
  public:
    row_error(const std::string& what, std::string state)
        : std::runtime_error(what), state_(std::move(state)) {}
    const std::string& state() const noexcept { return state_; }

  private:
    std::string state_;
};

// libpq parameters every connection gets unless the URL sets them: a dead host is noticed (connect
// timeout, keepalives, unacknowledged data), and a statement cannot run for ever.
std::string with_defaults(const std::string& url) {
    const bool uri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
    const std::vector<std::pair<std::string, std::string>> defaults = {
        {"connect_timeout", "5"},
        {"keepalives", "1"},
        {"keepalives_idle", "30"},
        {"tcp_user_timeout", "30000"}};
    // (statement_timeout is SET after connecting, not sent as `options`: PgBouncer refuses that.)
    std::string out = url;
    for (const auto& [key, value] : defaults) {
        if (url.find(key) != std::string::npos) continue; // the URL says it (or a key like it)
        if (uri) {
            const auto q = out.find('?');
            out += q == std::string::npos                       ? "?"
                   : (q + 1 == out.size() || out.back() == '&') ? ""
                                                                : "&";
            out += key + "=" + value;
        } else {
            out += " " + key + "=" + value;
        }
    }
    return out;
}

} // namespace

struct postgres_sink::connection {
    explicit connection(const std::string& url) : c(url) {}
    pqxx::connection c;
};

postgres_sink::postgres_sink(postgres_sink_spec spec, std::string platform)
    : spec_(std::move(spec)), platform_(std::move(platform)) {
    for (const auto& k : spec_.key) {
        for (std::size_t i = 0; i < spec_.columns.size(); ++i) {
            if (spec_.columns[i].first == k) key_columns_.push_back(i);
        }
    }
}

postgres_sink::~postgres_sink() = default;

std::vector<std::optional<std::string>> postgres_sink::row_of(const postgres_sink_spec& spec,
                                                              const item_record& r) {
    std::vector<std::optional<std::string>> row;
    row.reserve(spec.columns.size());
    for (const auto& [column, src] : spec.columns) {
        std::optional<std::string> v;
        if (src == "platform") {
            v = r.platform;
        } else if (src == "item") {
            v = r.item;
        } else if (src == "run") {
            v = r.run;
        } else if (src == "lease") {
            v = r.lease;
        } else if (src == "outcome") {
            v = r.outcome;
        } else if (src == "reason") {
            if (!r.reason.empty()) v = r.reason;
        } else if (src == "status") {
            v = std::to_string(r.status);
        } else if (src == "url") {
            v = r.url;
        } else if (src == "at") {
            v = iso_time(r.at_ms);
        } else if (src == "at_ms") {
            v = std::to_string(r.at_ms);
        } else if (src == "fields") {
            v = json_text(r.fields);
        } else if (src.rfind("fields.", 0) == 0) {
            if (r.fields.is_object()) {
                if (const auto it = r.fields.find(src.substr(7)); it != r.fields.end()) {
                    v = json_text(*it);
                }
            }
        } else if (src.rfind("data.", 0) == 0) {
            if (r.data.is_object()) {
                if (const auto it = r.data.find(src.substr(5)); it != r.data.end()) {
                    v = json_text(*it);
                }
            }
        }
        if (v) v = without_nul(std::move(*v));
        row.push_back(std::move(v));
    }
    return row;
}

void postgres_sink::connect() {
    conn_.reset();
    try {
        auto c = std::make_unique<connection>(with_defaults(spec_.url));
        // A hung server must not hold a lane for ever: statements end after 30 s.
        pqxx::nontransaction setup(c->c);
        setup.exec("SET statement_timeout = 30000");
        conn_ = std::move(c);
        ++connects_;
    } catch (const std::exception& e) {
        throw sink_error("postgres sink (" + spec_.table + "): cannot connect: " + e.what());
    }
}

std::optional<std::string> postgres_sink::probe() {
    try {
        connect();
    } catch (const sink_error& e) {
        return std::string(e.what());
    }
    const std::string where = "postgres sink (" + spec_.table + ")";
    try {
        auto one = std::make_shared<pending>();
        one->row.assign(spec_.columns.size(), std::nullopt);
        std::vector<std::shared_ptr<pending>> batch{one};
        const std::string sql = statement(batch); // NULLs: planned, never run
        pqxx::nontransaction w(conn_->c);
        // Planning takes the table's lock: a migration holding it delays the start 5 s at most.
        w.exec("SET lock_timeout = 5000");
        // Planned with the executor's permission checks (column grants included), not run.
        // On a failure the connection, which keeps this lock_timeout, is not reused (below).
        w.exec("EXPLAIN " + sql);
        w.exec("RESET lock_timeout");
        return std::nullopt;
    } catch (const pqxx::sql_error& e) {
        conn_.reset();
        std::string state = e.sqlstate();
        // libpqxx 6 leaves the SQLSTATE out of some of its own classes (42501 among them).
        if (state.empty() && dynamic_cast<const pqxx::insufficient_privilege*>(&e) != nullptr) {
            state = "42501";
        }
        const bool by_class = dynamic_cast<const pqxx::syntax_error*>(&e) != nullptr ||
                              dynamic_cast<const pqxx::feature_not_supported*>(&e) != nullptr;
        // Class 42 (no such table or column, no unique index matching the key, no privilege)
        // and 0A (not supported): the mapping's fault. (The probe plans NULLs, so a value the
        // column cannot take shows only at a write, as that row's refusal.)
        if (by_class || state.rfind("42", 0) == 0 || state.rfind("0A", 0) == 0) {
            throw std::invalid_argument(where + ": the table does not take the mapping: " +
                                        e.what() + " (SQLSTATE " + state + ")");
        }
        return where + ": checking the table: " + e.what() +
               (state.empty() ? "" : " (SQLSTATE " + state + ")");
    } catch (const std::invalid_argument&) {
        throw;
    } catch (const std::exception& e) {
        conn_.reset();
        return where + ": checking the table: " + e.what();
    }
}

std::string postgres_sink::table_name() const {
    auto& c = conn_->c;
    std::string table;
    for (std::size_t at = 0;;) {
        const auto dot = spec_.table.find('.', at);
        table += c.quote_name(spec_.table.substr(at, dot - at));
        if (dot == std::string::npos) break;
        table += ".";
        at = dot + 1;
    }
    return table;
}

std::string postgres_sink::statement(const std::vector<std::shared_ptr<pending>>& batch) {
    auto& c = conn_->c;
    std::string sql = "INSERT INTO " + table_name() + " (";
    for (std::size_t i = 0; i < spec_.columns.size(); ++i) {
        sql += (i ? ", " : "") + c.quote_name(spec_.columns[i].first);
    }
    sql += ") VALUES ";
    // One row per key: ON CONFLICT DO UPDATE may not touch a row twice in one statement, so of
    // two records with the same key (an item twice in the batch) the later one is written.
    // A key with a NULL conflicts with nothing in PostgreSQL: such rows are all written.
    auto key_of = [&](std::size_t b) {
        std::vector<std::optional<std::string>> key;
        for (const auto k : key_columns_) key.push_back(batch[b]->row[k]);
        return key;
    };
    auto has_null = [](const std::vector<std::optional<std::string>>& key) {
        return std::any_of(key.begin(), key.end(), [](const auto& v) { return !v; });
    };
    std::map<std::vector<std::optional<std::string>>, std::size_t> last;
    for (std::size_t b = 0; b < batch.size(); ++b) {
        if (auto key = key_of(b); !has_null(key)) last[key] = b;
    }
    bool first_row = true;
    for (std::size_t b = 0; b < batch.size(); ++b) {
        if (const auto key = key_of(b); !has_null(key) && last[key] != b) continue;
        sql += first_row ? "(" : ", (";
        first_row = false;
        const auto& row = batch[b]->row;
        for (std::size_t i = 0; i < row.size(); ++i) {
            sql += (i ? ", " : "") + (row[i] ? c.quote(*row[i]) : std::string("NULL"));
        }
        sql += ")";
    }
    sql += " ON CONFLICT (";
    for (std::size_t i = 0; i < spec_.key.size(); ++i)
        sql += (i ? ", " : "") + c.quote_name(spec_.key[i]);
    sql += ")";
    std::string updates;
    for (const auto& [column, src] : spec_.columns) {
        if (std::find(spec_.key.begin(), spec_.key.end(), column) != spec_.key.end()) continue;
        const auto q = c.quote_name(column);
        updates += (updates.empty() ? "" : ", ") + q + " = EXCLUDED." + q;
    }
    sql += updates.empty() ? " DO NOTHING" : " DO UPDATE SET " + updates;
    return sql;
}

void postgres_sink::write_batch(std::vector<std::shared_ptr<pending>>& batch) {
    // One reconnect per batch: a server restarted since the last write is met at once; a server
    // still away fails the batch (sink_error: the job is given back).
    for (int attempt = 0;; ++attempt) {
        try {
            if (!conn_ || !conn_->c.is_open()) connect();
            const auto sql = statement(batch);
            // One statement is atomic on its own: no BEGIN/COMMIT round trips around it.
            pqxx::nontransaction w(conn_->c);
            w.exec(sql);
            ++statements_;
            return;
        } catch (const sink_error&) {
            throw;
        } catch (const pqxx::broken_connection& e) {
            conn_.reset();
            if (attempt >= 1) {
                throw sink_error("postgres sink (" + spec_.table +
                                 "): connection lost: " + e.what());
            }
        } catch (const pqxx::in_doubt_error& e) {
            conn_.reset(); // the upsert is idempotent: writing it again is safe
            if (attempt >= 1) {
                throw sink_error("postgres sink (" + spec_.table +
                                 "): commit in doubt: " + e.what());
            }
        } catch (const pqxx::sql_error& e) {
            // The server refused the statement (a missing column, a type, a constraint): not
            // the items' fault either, and it will not pass on a retry of the same rows alone;
            // the job is given back with the server's words.
            const std::string state = e.sqlstate();
            if (state.rfind("57P", 0) == 0 || state.rfind("08", 0) == 0) { // shutdown, connection
                conn_.reset();
                if (attempt < 1) continue;
            }
            // Classes 22 (data) and 23 (constraints), 21000 (two rows the server sees as one key),
            // 54000 (a row too large), P0001 (a trigger's RAISE): a row's fault.
            if (state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0 || state == "21000" ||
                state == "54000" || state == "P0001") {
                throw row_error("postgres sink (" + spec_.table + ") refused the row: " + e.what() +
                                    " (SQLSTATE " + state + ")",
                                state);
            }
            throw sink_error("postgres sink (" + spec_.table + "): " + e.what() +
                             (state.empty() ? "" : " (SQLSTATE " + state + ")"));
        } catch (const std::exception& e) {
            conn_.reset();
            throw sink_error("postgres sink (" + spec_.table + "): " + e.what());
        }
    }
}

void postgres_sink::write(const item_record& record) {
    auto mine = std::make_shared<pending>();
    mine->row = row_of(spec_, record);
    for (const auto k : key_columns_) {
        if (!mine->row[k]) {
            // NULL never conflicts: a repeat would add a second row. Refused, not written.
            throw record_refused("postgres sink (" + spec_.table + "): key column " +
                                 spec_.columns[k].first + " (" + spec_.columns[k].second +
                                 ") is empty for item " + record.item);
        }
    }
    std::unique_lock lock(mutex_);
    queue_.push_back(mine);
    if (writing_) {
        cv_.wait(lock, [&] { return mine->done || !writing_; });
    }
    // The writer: takes what waits (its own row among it), batch after batch, until this row is
    // written; then hands over to a lane still waiting, if any.
    while (!mine->done) {
        writing_ = true;
        std::vector<std::shared_ptr<pending>> batch;
        while (!queue_.empty() && batch.size() < spec_.batch) {
            batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
        lock.unlock();
        try {
            write_rows(batch);
        } catch (const std::exception& e) { // nothing may leave a batch undone or the lanes waiting
            for (auto& p : batch) p->error = std::string("postgres sink: ") + e.what();
        }
        lock.lock();
        for (auto& p : batch) {
            p->done = true;
            if (p->error.empty()) ++stats_.rows;
        }
        writing_ = false;
        cv_.notify_all();
    }
    if (mine->refused) throw record_refused(mine->error);
    if (!mine->error.empty()) throw sink_error(mine->error);
}

void postgres_sink::write_rows(std::vector<std::shared_ptr<pending>>& batch) {
    try {
        write_batch(batch);
        return;
    } catch (const row_error& e) {
        if (batch.size() == 1) {
            batch[0]->error = e.what();
            batch[0]->refused = true;
            return;
        }
    } catch (const sink_error& e) {
        for (auto& p : batch) p->error = e.what();
        return;
    }
    // A row's values broke the statement: each row alone, so only the guilty ones are refused.
    std::string server_error;
    std::set<std::string> refusals;
    for (auto& p : batch) {
        if (!server_error.empty()) {
            p->error = server_error; // the server went away meanwhile: no more tries
            continue;
        }
        std::vector<std::shared_ptr<pending>> one{p};
        try {
            write_batch(one);
        } catch (const row_error& e) {
            p->error = e.what();
            p->refused = true;
            refusals.insert(e.state());
        } catch (const sink_error& e) {
            server_error = e.what();
            p->error = server_error;
        }
    }
    // Every row refused for the same reason: the table or the config, not the rows (a NOT NULL
    // column the mapping leaves out): the job goes back rather than every item failing.
    const bool all =
        std::all_of(batch.begin(), batch.end(), [](const auto& p) { return p->refused; });
    if (all && refusals.size() == 1 && batch.size() > 1) {
        for (auto& p : batch) p->refused = false;
    }
}

postgres_sink_stats postgres_sink::stats() const {
    std::lock_guard lock(mutex_);
    auto s = stats_;
    s.connects = connects_;
    s.statements = statements_;
    return s;
}

} // namespace rotor::nodes
