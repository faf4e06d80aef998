#include "config/agent_units_check.hpp"

#include "config/agents_block.hpp"
#include "config/escape.hpp"
#include "messages/error.hpp"

namespace sf {

namespace {

/// Why `name` finds no profile, with the fix; empty when it finds one.
std::string missing_profile(const agent_settings& a, const std::string& name) {
  if (a.find(name) != nullptr)
    return {};
  if (a.profiles.empty())
    return "the preferences declare no agent profiles; add one under agents.profiles in "
           ".sf/PREFERENCES.md (e.g. \"claude: {adapter: claude}\")";
  if (name == "default")
    return "there are several agent profiles and no agents.default; set agents.default to "
           "one of: " +
           profile_names(a);
  return "there is no agent profile \"" + escape_text(name) +
         "\"; add it under agents.profiles or use one of: " + profile_names(a);
}

} // namespace

caf::error check_agent_units(const plan& p, const preferences& prefs) {
  for (const auto& m : p.milestones)
    for (std::size_t i = 0; i < m.slices.size(); ++i)
      for (std::size_t j = 0; j < m.slices[i].units.size(); ++j) {
        const auto& u = m.slices[i].units[j];
        if (!u.is_agent())
          continue;
        auto where = m.prose_unit
                       ? m.path + ": milestone " + m.id +
                           " has no units, so its text is work for the default agent profile: "
                       : m.path + ": milestone " + m.id + ", unit " + escape_text(u.id) +
                           ": slices[" + std::to_string(i) + "].units[" + std::to_string(j) +
                           "].agent: ";
        auto why = missing_profile(prefs.agents, u.agent);
        if (!why.empty())
          return make_error(ec::invalid_input, where + why);
        const auto* profile = prefs.agents.find(u.agent);
        if (profile->adapter == agent_adapter::generic && profile->command.empty())
          return make_error(ec::invalid_input,
                            where + "profile \"" + profile->name +
                                "\" uses the generic adapter, which needs a command; add "
                                "agents.profiles." +
                                profile->name + ".command (e.g. [my-agent]) or set its adapter");
      }
  return {};
}

} // namespace sf
