#include "config/prose_milestone.hpp"

namespace sf {

bool is_prose_only(const milestone& m) {
  return m.unit_count() == 0 && m.body.find_first_not_of(" \t\r\n") != std::string::npos;
}

bool add_prose_unit(milestone& m, const agent_settings& agents) {
  if (!is_prose_only(m) || agents.find("default") == nullptr)
    return false;
  std::string title = m.title.empty() ? m.id : m.title;
  unit u;
  u.id = prose_unit_id;
  u.title = title;
  u.agent = "default";
  slice s;
  s.id = prose_slice_id;
  s.title = title;
  s.units.push_back(std::move(u));
  // An empty `slices: []` written by the user is replaced: it held nothing.
  m.slices.clear();
  m.slices.push_back(std::move(s));
  m.prose_unit = true;
  return true;
}

std::string nothing_to_run(const milestone& m) {
  // No text either: a milestone that only gathers its dependencies, which is fine.
  if (!is_prose_only(m) || m.status == milestone_status::complete)
    return {};
  return m.id + " has no units and no agent profile to work on its text, so the reference "
         "worker does nothing and its dependents will wait; add units to " + m.path +
         ", or an agent profile (agents.default) to .sf/PREFERENCES.md (docs/agents.md)";
}

void add_prose_units(plan& p, const agent_settings& agents) {
  for (auto& m : p.milestones)
    add_prose_unit(m, agents);
}

} // namespace sf
