#pragma once
// rotorctl config check (every platform file, every problem) and rotorctl probe (one item
// through a platform's scan and validate nodes locally: no Redis, nothing saved).

#include <iosfwd>
#include <string>

namespace rotor::app {

/// Checks every *.yaml under `dir`; one JSON line per file on `out`, problems on `err`.
/// Returns 0 when every file loads, 1 otherwise.
int run_config_check(const std::string& dir, std::ostream& out, std::ostream& err);

/// Scans `id_or_url` (an item id, or an http(s) URL the platform's hosts allow) with the
/// platform's browser settings and prints the outcome, fields and timings as one JSON line.
int run_probe(const std::string& dir, const std::string& platform, const std::string& id_or_url,
              std::ostream& out, std::ostream& err);

} // namespace rotor::app
