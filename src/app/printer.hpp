#pragma once
// How rotorctl prints a record: one JSON object per line with --json (for scripts), otherwise a
// plain line of `key=value` pairs (for people and grep). Progress bars are drawn only on a
// terminal (status); piped, the same facts come as plain lines.

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <string>

namespace rotor::app {

enum class output_mode { json, plain, terminal };

class printer {
  public:
    printer(std::ostream& out, output_mode mode) : out_(out), mode_(mode) {}
    /// --json: json; else terminal when `fd` is a terminal, plain when it is not.
    static output_mode pick(bool json, int fd);

    /// One record: a JSON line, or `key=value key=value` (strings bare unless they hold a
    /// space, a quote or '=', nested values as compact JSON).
    void line(const nlohmann::json& record);
    /// Every JSON line of `text` (what a command wrote for scripts) through line(); a line
    /// that is not JSON is printed as it is.
    void lines_of(const std::string& text);
    std::ostream& stream() noexcept { return out_; }
    output_mode mode() const noexcept { return mode_; }

  private:
    std::ostream& out_;
    output_mode mode_;
};

/// `[#########...........]  45%` of `width` cells (a terminal's progress bar).
std::string progress_bar(double fraction, int width = 30);

} // namespace rotor::app
