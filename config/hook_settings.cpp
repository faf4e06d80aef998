#include "config/hook_settings.hpp"

#include "core/name_table.hpp"

namespace sf {

namespace {

// The one name table of hook_event, spelled as in the preferences file.
constexpr core::name_table<hook_event, 6> event_names = {
    {"unit_done", "milestone_complete", "needs_attention", "conflict", "budget_reached", "failed"}};

} // namespace

// Names are literals: the view's data is NUL-terminated.
const char* to_string(hook_event e) {
  return event_names.name(e).data();
}

std::optional<hook_event> parse_hook_event(std::string_view text) {
  return event_names.parse(text);
}

std::string hook_event_names() {
  std::string out;
  for (auto name : event_names.names)
    out += (out.empty() ? "\"" : ", \"") + std::string{name} + "\"";
  return out;
}

} // namespace sf
