#include "config/agent_profile.hpp"

#include "core/name_table.hpp"

namespace sf {

namespace {

// The one name table of agent_adapter, spelled as in the preferences file.
constexpr core::name_table<agent_adapter, 4> adapter_names = {
    {"claude", "codex", "aider", "generic"}};

} // namespace

// Names are literals: the view's data is NUL-terminated.
const char* to_string(agent_adapter a) {
  return adapter_names.name(a).data();
}

std::optional<agent_adapter> parse_agent_adapter(std::string_view text) {
  return adapter_names.parse(text);
}

const agent_profile* agent_settings::find(std::string_view name) const {
  if (name.empty() || name == "default") {
    if (!default_profile.empty())
      name = default_profile;
    else if (profiles.size() == 1)
      return &profiles.begin()->second;
    else
      return nullptr;
  }
  auto it = profiles.find(std::string{name});
  return it == profiles.end() ? nullptr : &it->second;
}

} // namespace sf
