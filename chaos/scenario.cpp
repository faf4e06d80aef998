#include "chaos/scenario.hpp"

#include "config/cost.hpp"
#include "config/plan.hpp"
#include "config/yaml_input.hpp"
#include "core/milestone_id.hpp"
#include "io/os/fault_point.hpp"
#include "messages/error.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

namespace sf::chaos {

namespace {

/// Parsing context: the file and where its YAML starts, for messages.
struct reader {
  std::string path;

  caf::error bad(const YAML::Node& at, const std::string& what, const std::string& fix) const {
    return make_error(ec::invalid_input, path + ":" + std::to_string(line_of(at, 1, 1)) + ": " +
                                           what + "; " + fix);
  }

  caf::error only_keys(const YAML::Node& map, const std::string& where,
                       const std::set<std::string>& allowed) const {
    if (!map.IsMap())
      return bad(map, where + " must be a map", "write `key: value` lines under it");
    for (const auto& kv : map) {
      auto key = kv.first.as<std::string>();
      if (allowed.count(key) == 0) {
        std::string list;
        for (const auto& a : allowed)
          list += (list.empty() ? "" : ", ") + a;
        return bad(kv.first, "unknown key `" + key + "` in " + where, "use one of: " + list);
      }
    }
    return {};
  }

  template <class T>
  caf::error get(const YAML::Node& map, const char* key, const std::string& where, T& out) const {
    auto n = map[key];
    if (!n)
      return {};
    try {
      out = n.as<T>();
    } catch (const YAML::Exception&) {
      return bad(n, where + "." + key + " has the wrong type (" + describe_value(n) + ")",
                 "see the scenario format in docs/RELIABILITY.md");
    }
    return {};
  }
};

caf::expected<action> parse_action(const reader& r, const YAML::Node& n) {
  if (!n.IsScalar())
    return r.bad(n, "an action must be one line such as `kill-worker M001`",
                 "write the verb and its arguments as one string");
  action a;
  a.text = n.as<std::string>();
  std::istringstream words{a.text};
  words >> a.verb;
  for (std::string w; words >> w;)
    a.args.push_back(w);
  auto it = action_verbs().find(a.verb);
  if (it == action_verbs().end()) {
    std::string list;
    for (const auto& [verb, argc] : action_verbs())
      list += (list.empty() ? "" : ", ") + verb;
    return r.bad(n, "unknown action `" + a.verb + "`", "use one of: " + list);
  }
  // -1: any number of arguments (the `cli` verb passes them on; `git` and `sh` take the rest
  // of the line as shell text, quotes included).
  if (it->second < 0 && a.verb != "cli" && a.args.empty())
    return r.bad(n, "action `" + a.verb + "` needs the rest of a command line",
                 "e.g. `git rebase --abort` or `sh echo x >> notes.txt`");
  if (it->second >= 0 && static_cast<int>(a.args.size()) != it->second)
    return r.bad(n, "action `" + a.verb + "` takes " + std::to_string(it->second) + " argument(s)",
                 "write it as in docs/RELIABILITY.md");
  return a;
}

caf::expected<std::vector<action>> parse_actions(const reader& r, const YAML::Node& n) {
  std::vector<action> out;
  if (!n)
    return out;
  if (n.IsScalar()) {
    auto a = parse_action(r, n);
    if (!a)
      return a.error();
    out.push_back(std::move(*a));
    return out;
  }
  if (!n.IsSequence())
    return r.bad(n, "actions must be a string or a list of strings", "write `- verb args`");
  for (const auto& item : n) {
    auto a = parse_action(r, item);
    if (!a)
      return a.error();
    out.push_back(std::move(*a));
  }
  return out;
}

caf::error parse_trigger(const reader& r, const YAML::Node& n, trigger& t) {
  if (auto err = r.only_keys(n, "when", {"event", "milestone", "state", "text", "units",
                                         "fault_point", "coordinator_exit", "output", "file"}))
    return err;
  if (n["file"]) {
    t.kind = trigger::file;
    if (auto err = r.get(n, "file", "when", t.path))
      return err;
    if (t.path.empty() || t.path[0] == '/' || t.path.find("..") != std::string::npos)
      return r.bad(n["file"], "when.file must be a path below the scenario's folder",
                   "e.g. `file: home/M001-U01.running`");
    return r.get(n, "text", "when", t.text);
  }
  if (n["fault_point"]) {
    t.kind = trigger::fault_point;
    t.point = n["fault_point"].as<std::string>();
    bool known = false;
    for (int i = 0; i < io::fault_point_count; ++i)
      known = known || t.point == io::fault_point_names[i];
    if (!known) {
      std::string list;
      for (int i = 0; i < io::fault_point_count; ++i)
        list += (i == 0 ? "" : ", ") + std::string(io::fault_point_names[i]);
      return r.bad(n["fault_point"], "unknown fault point `" + t.point + "`", "use one of: " + list);
    }
    return {};
  }
  if (n["output"]) {
    t.kind = trigger::printed;
    return r.get(n, "output", "when", t.output);
  }
  if (n["coordinator_exit"]) {
    t.kind = trigger::coordinator_exit;
    return {};
  }
  if (!n["event"])
    return r.bad(n, "`when` needs `event`, `fault_point`, `output`, `file` or `coordinator_exit`",
                 "e.g. `when: {event: progress, milestone: M001, units: 1}`");
  t.kind = trigger::event;
  if (auto err = r.get(n, "event", "when", t.event_kind))
    return err;
  if (auto err = r.get(n, "milestone", "when", t.milestone))
    return err;
  if (auto err = r.get(n, "state", "when", t.state))
    return err;
  if (auto err = r.get(n, "text", "when", t.text))
    return err;
  return r.get(n, "units", "when", t.units);
}

caf::error parse_knobs(const reader& r, const YAML::Node& n, const std::string& mid,
                       fault_knobs& k) {
  auto where = "worker." + mid;
  std::set<std::string> names;
  for_each_knob(k, [&names](const char* name, const auto&) { names.insert(name); });
  if (auto err = r.only_keys(n, where, names))
    return err;
  caf::error err;
  for_each_knob(k, [&](const char* name, auto& field) {
    // forge_pid may also name the bystander; read below.
    if (!err && std::string(name) != "forge_pid")
      err = r.get(n, name, where, field);
  });
  if (err)
    return err;
  if (auto pid = n["forge_pid"]) {
    // "bystander" names the harness's bystander process, whose pid is known only at run time.
    if (pid.IsScalar() && pid.as<std::string>() == "bystander")
      k.forge_pid = -1;
    else if (auto e = r.get(n, "forge_pid", where, k.forge_pid))
      return e;
  }
  static const std::set<std::string> bad = {"", "corrupt", "truncated", "huge", "huge-cost"};
  if (bad.count(k.bad_status) == 0)
    return r.bad(n["bad_status"], where + ".bad_status is `" + k.bad_status + "`",
                 "use corrupt, truncated, huge or huge-cost");
  return {};
}

// A number the fake reads or the plan holds: finite, and at least `low`.
template <class T>
caf::error get_at_least(const reader& r, const YAML::Node& map, const char* key,
                        const std::string& where, double low, bool strictly,
                        std::optional<T>& out) {
  if (!map[key])
    return {};
  T v{};
  if (auto err = r.get(map, key, where, v))
    return err;
  auto value = static_cast<double>(v);
  if (!std::isfinite(value) || value < low || (strictly && value == low)) {
    char bound[32];
    std::snprintf(bound, sizeof bound, "%g", low);
    return r.bad(map[key], where + "." + key + " is " + describe_value(map[key]),
                 std::string("give a number ") + (strictly ? "above " : "of at least ") + bound);
  }
  out = v;
  return {};
}

caf::error parse_agent(const reader& r, const YAML::Node& n, const std::string& mid,
                       agent_fault& a) {
  auto where = mid + ".agent";
  if (auto err = r.only_keys(n, where, {"cli", "scenario", "once", "cost", "delay", "silence",
                                        "timeout", "idle_timeout", "max_attempts"}))
    return err;
  caf::error err;
  if ((err = r.get(n, "cli", where, a.cli)) || (err = r.get(n, "scenario", where, a.scenario)) ||
      (err = r.get(n, "once", where, a.once)))
    return err;
  const auto& clis = agent_clis();
  if (std::find(clis.begin(), clis.end(), a.cli) == clis.end())
    return r.bad(n["cli"], where + ".cli is `" + a.cli + "`", "use claude, codex or aider");
  // The scenario travels as one word of the agent's command line.
  bool word = !a.scenario.empty() && std::all_of(a.scenario.begin(), a.scenario.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
  if (!word)
    return r.bad(n["scenario"], where + ".scenario is `" + a.scenario + "`",
                 "name a scenario of tests/fixtures/agents/" + a.cli + " (e.g. hang, flood)");
  if (n["cost"]) {
    // Any finite claim, negative included: lying about the cost is a fault to inject.
    double cost = 0;
    if ((err = r.get(n, "cost", where, cost)))
      return err;
    if (!std::isfinite(cost))
      return r.bad(n["cost"], where + ".cost is " + describe_value(n["cost"]),
                   "give a finite number (e.g. 1e308 or -5)");
    a.cost = cost;
  }
  if ((err = get_at_least(r, n, "delay", where, 0, false, a.delay)) ||
      (err = get_at_least(r, n, "silence", where, 0, false, a.silence)) ||
      (err = get_at_least(r, n, "timeout", where, 0, true, a.timeout)) ||
      (err = get_at_least(r, n, "idle_timeout", where, 0, true, a.idle_timeout)) ||
      (err = get_at_least(r, n, "max_attempts", where, 1, false, a.max_attempts)))
    return err;
  return {};
}

caf::error parse_milestone(const reader& r, const YAML::Node& n, scenario_milestone& m) {
  if (auto err = r.only_keys(n, "milestones[]", {"id", "status", "depends", "units", "slices",
                                                 "unit_seconds", "unit_cost", "files", "run",
                                                 "agent"}))
    return err;
  caf::error err;
  if ((err = r.get(n, "id", "milestones[]", m.id)) ||
      (err = r.get(n, "status", "milestones[]", m.status)) ||
      (err = r.get(n, "depends", "milestones[]", m.deps)) ||
      (err = r.get(n, "units", "milestones[]", m.units)) ||
      (err = r.get(n, "slices", "milestones[]", m.slices)) ||
      (err = r.get(n, "unit_seconds", "milestones[]", m.unit_seconds)) ||
      (err = r.get(n, "unit_cost", "milestones[]", m.unit_cost)) ||
      (err = r.get(n, "files", "milestones[]", m.files)) ||
      (err = r.get(n, "run", "milestones[]", m.run)))
    return err;
  if (!core::valid_milestone_id(m.id))
    return r.bad(n, "milestone id `" + m.id + "` is not valid", "use e.g. M001");
  if (m.units < 1 || m.slices < 1 || m.slices > m.units)
    return r.bad(n, m.id + ": units must be >= 1 and slices between 1 and units",
                 "fix `units`/`slices`");
  if (m.files.empty())
    m.files.push_back(m.id + ".txt");
  if (auto a = n["agent"]) {
    if (n["run"])
      return r.bad(n["run"], m.id + " has both `run` and `agent`",
                   "drop `run`: agent units run the fake agent CLI");
    m.agent.emplace();
    if (auto err = parse_agent(r, a, m.id, *m.agent))
      return err;
  }
  return {};
}

caf::error parse_max_bytes(const reader& r, const YAML::Node& n, std::map<std::string, int64_t>& out) {
  if (!n)
    return {};
  if (!n.IsMap())
    return r.bad(n, "expect.max_bytes must map files to byte counts",
                 "e.g. `max_bytes: {.sf/parallel/M001.agent.jsonl: 16777216}`");
  for (const auto& kv : n) {
    auto path = kv.first.as<std::string>();
    if (path.empty() || path[0] == '/' || path.find("..") != std::string::npos)
      return r.bad(kv.first, "expect.max_bytes names `" + path + "`",
                   "name a file below the project root, e.g. .sf/parallel/M001.log");
    int64_t bytes = -1;
    try {
      bytes = kv.second.as<int64_t>();
    } catch (const YAML::Exception&) {
    }
    if (bytes < 0)
      return r.bad(kv.second, "expect.max_bytes." + path + " is " + describe_value(kv.second),
                   "give a whole number of bytes, 0 or more");
    out[path] = bytes;
  }
  return {};
}

} // namespace

const std::vector<std::string>& agent_clis() {
  static const std::vector<std::string> clis = {"claude", "codex", "aider"};
  return clis;
}

double unit_claim(const scenario_milestone& m) {
  if (!m.agent)
    return m.unit_cost;
  if (!m.agent->cost)
    return 1.0;
  return std::clamp(*m.agent->cost, 0.0, max_cost_usd);
}

bool scenario::needs_agents() const {
  return std::any_of(milestones.begin(), milestones.end(),
                     [](const scenario_milestone& m) { return m.agent.has_value(); });
}

const std::map<std::string, int>& action_verbs() {
  static const std::map<std::string, int> verbs = {
    {"kill-worker", 1},        {"stop-worker", 1},      {"continue-worker", 1},
    {"kill-coordinator", 0},   {"stop-coordinator", 0}, {"continue-coordinator", 0},
    {"term-coordinator", 0},
    {"start-coordinator", 0},  {"cli", -1},             {"lock-main", 0},
    {"unlock-main", 0},        {"lock-index", 0},       {"unlock-index", 0},
    {"user-commit", 0},        {"user-edit", 1},        {"user-discard", 1},
    {"plant-symlink", 1},      {"plant-fifo", 1},       {"plant-folder", 1},
    {"lock-worktree-index", 1}, {"unlock-worktree-index", 1},
    {"delete-worktree", 1},    {"mount-tmpfs", 1},
    {"fill-disk", 0},          {"free-disk", 0},        {"start-coordinator-at", 1},
    {"git", -1},               {"sh", -1},              {"user-stage", 1},
  };
  return verbs;
}

caf::expected<scenario> load_scenario(const std::string& path) {
  input_limits limits;
  auto text = read_input_file(path, limits);
  if (!text)
    return text.error();
  auto doc = load_yaml(*text, 1, path, limits);
  if (!doc)
    return doc.error();
  reader r{path};
  const YAML::Node& n = *doc;
  if (auto err = r.only_keys(n, "the scenario",
                             {"name", "fault", "slow", "timeout", "worker", "branch",
                              "preferences", "milestones", "knobs", "before_start", "inject",
                              "expect"}))
    return err;
  scenario s;
  s.file = path;
  auto slash = path.find_last_of('/');
  s.name = path.substr(slash == std::string::npos ? 0 : slash + 1);
  if (auto dot = s.name.rfind(".yaml"); dot != std::string::npos)
    s.name.erase(dot);
  caf::error err;
  if ((err = r.get(n, "name", "scenario", s.name)) || (err = r.get(n, "fault", "scenario", s.fault)) ||
      (err = r.get(n, "slow", "scenario", s.slow)) ||
      (err = r.get(n, "timeout", "scenario", s.timeout)) ||
      (err = r.get(n, "worker", "scenario", s.worker)) ||
      (err = r.get(n, "branch", "scenario", s.branch)))
    return err;
  if (s.fault.empty())
    return r.bad(n, "`fault` is missing", "add one line saying which fault the scenario injects");
  if (s.worker != "fault" && s.worker != "original")
    return r.bad(n["worker"], "worker is `" + s.worker + "`", "use fault or original");
  if (auto p = n["preferences"]) {
    if (!p.IsMap())
      return r.bad(p, "preferences must be a map of `parallel:` keys", "e.g. `max_workers: 2`");
    for (const auto& kv : p) {
      if (!kv.second.IsScalar() && !kv.second.IsNull())
        return r.bad(kv.second, "preferences." + kv.first.as<std::string>() + " is not a scalar",
                     "give a single value");
      s.preferences[kv.first.as<std::string>()] =
        kv.second.IsNull() ? "null" : kv.second.as<std::string>();
    }
  }
  auto ms = n["milestones"];
  if (!ms || !ms.IsSequence() || ms.size() == 0)
    return r.bad(n, "`milestones` must be a non-empty list", "add `- id: M001`");
  for (const auto& item : ms) {
    scenario_milestone m;
    if (auto e = parse_milestone(r, item, m))
      return e;
    s.milestones.push_back(std::move(m));
  }
  std::set<std::string> ids;
  for (const auto& m : s.milestones)
    ids.insert(m.id);
  if (auto k = n["knobs"]) {
    if (!k.IsMap())
      return r.bad(k, "knobs must map milestone ids to knobs", "e.g. `M001: {crash_after: 1}`");
    for (const auto& kv : k) {
      auto mid = kv.first.as<std::string>();
      if (ids.count(mid) == 0)
        return r.bad(kv.first, "knobs for unknown milestone `" + mid + "`", "name one in milestones");
      if (auto e = parse_knobs(r, kv.second, mid, s.knobs[mid]))
        return e;
    }
  }
  auto before = parse_actions(r, n["before_start"]);
  if (!before)
    return before.error();
  s.before_start = std::move(*before);
  if (auto inj = n["inject"]) {
    if (!inj.IsSequence())
      return r.bad(inj, "inject must be a list", "write `- when: {...}` then `do: ...`");
    for (const auto& item : inj) {
      if (auto e = r.only_keys(item, "inject[]", {"when", "do"}))
        return e;
      injection x;
      if (!item["when"])
        return r.bad(item, "an injection needs `when`", "e.g. `when: {event: completed}`");
      if (auto e = parse_trigger(r, item["when"], x.when))
        return e;
      auto then = parse_actions(r, item["do"]);
      if (!then)
        return then.error();
      if (then->empty())
        return r.bad(item, "an injection needs `do`", "name at least one action");
      x.then = std::move(*then);
      s.inject.push_back(std::move(x));
    }
  }
  if (auto ex = n["expect"]) {
    if (auto e = r.only_keys(ex, "expect",
                             {"exit", "merged", "not_merged", "states", "messages", "absent",
                              "main_has", "max_bytes", "worker_max_rss_mib", "agent_runs"}))
      return e;
    if ((err = r.get(ex, "exit", "expect", s.expect.exit)) ||
        (err = r.get(ex, "merged", "expect", s.expect.merged)) ||
        (err = r.get(ex, "not_merged", "expect", s.expect.not_merged)) ||
        (err = r.get(ex, "states", "expect", s.expect.states)) ||
        (err = r.get(ex, "messages", "expect", s.expect.messages)) ||
        (err = r.get(ex, "absent", "expect", s.expect.absent)) ||
        (err = r.get(ex, "main_has", "expect", s.expect.main_has)) ||
        (err = parse_max_bytes(r, ex["max_bytes"], s.expect.max_bytes)) ||
        (err = r.get(ex, "worker_max_rss_mib", "expect", s.expect.worker_max_rss_mib)) ||
        (err = r.get(ex, "agent_runs", "expect", s.expect.agent_runs)))
      return err;
    for (const auto& [mid, runs] : s.expect.agent_runs) {
      auto m = std::find_if(s.milestones.begin(), s.milestones.end(),
                            [&](const scenario_milestone& x) { return x.id == mid; });
      if (m == s.milestones.end() || !m->agent)
        return r.bad(ex["agent_runs"], "expect.agent_runs names `" + mid + "`",
                     "name a milestone that has `agent:`");
      if (runs < 0)
        return r.bad(ex["agent_runs"], "expect.agent_runs." + mid + " is negative",
                     "give how many times the agent starts, 0 or more");
    }
    if (!std::isfinite(s.expect.worker_max_rss_mib) || s.expect.worker_max_rss_mib < 0)
      return r.bad(ex["worker_max_rss_mib"], "expect.worker_max_rss_mib is negative",
                   "give the most MiB a worker may use, e.g. 64");
  }
  return s;
}

} // namespace sf::chaos
