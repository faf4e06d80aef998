#include "messages/error.hpp"

#include <caf/message.hpp>

namespace sf {

const char* to_string(ec code) {
  switch (code) {
    case ec::none: return "none";
    case ec::invalid_input: return "invalid_input";
    case ec::not_enabled: return "not_enabled";
    case ec::nothing_eligible: return "nothing_eligible";
    case ec::merge_conflict: return "merge_conflict";
    case ec::budget_reached: return "budget_reached";
    case ec::io_error: return "io_error";
    case ec::unsafe_path: return "unsafe_path";
    case ec::git_error: return "git_error";
    case ec::process_error: return "process_error";
    case ec::not_found: return "not_found";
    case ec::already_running: return "already_running";
    case ec::unavailable: return "unavailable";
    case ec::usage: return "usage";
    case ec::locked: return "locked";
  }
  return "unknown";
}

caf::error make_error(ec code, std::string text) {
  return caf::error{static_cast<uint8_t>(code), caf::atom("sf"),
                    caf::make_message(std::move(text))};
}

std::string describe(const caf::error& err) {
  if (!err)
    return {};
  const auto& ctx = err.context();
  if (err.category() == caf::atom("sf") && ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  return caf::to_string(err);
}

ec code_of(const caf::error& err) {
  if (!err || err.category() != caf::atom("sf"))
    return ec::none;
  return static_cast<ec>(err.code());
}

} // namespace sf
