#include "config/preferences.hpp"

#include "config/agents_block.hpp"
#include "config/escape.hpp"
#include "config/plan.hpp"
#include "config/yaml_input.hpp"
#include "core/edit_distance.hpp"
#include "core/name_table.hpp"
#include "core/sf_paths.hpp"
#include "messages/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <set>
#include <sstream>

namespace sf {

namespace {

// The one name table of each choice, spelled as in the preferences file.
constexpr core::name_table<merge_strategy, 2> strategy_names = {{"per-slice", "per-milestone"}};
constexpr core::name_table<auto_merge_mode, 3> auto_merge_names = {{"auto", "confirm", "manual"}};
constexpr core::name_table<merge_order, 2> order_names = {{"sequential", "by-completion"}};
constexpr core::name_table<gate_failure_action, 2> gate_failure_names = {{"hold", "agent"}};

} // namespace

// Names are literals: the views' data is NUL-terminated.
const char* to_string(merge_strategy v) { return strategy_names.name(v).data(); }
const char* to_string(auto_merge_mode v) { return auto_merge_names.name(v).data(); }
const char* to_string(merge_order v) { return order_names.name(v).data(); }
const char* to_string(gate_failure_action v) { return gate_failure_names.name(v).data(); }

const std::vector<preference_key>& preference_keys() {
  static const std::vector<preference_key> keys = {
      {"enabled", "boolean", "false",
       "Turns parallel mode on; the commands refuse to run otherwise."},
      {"max_workers", "integer (1-64)", "2", "How many workers may run at the same time."},
      {"budget_ceiling", "number > 0, or null", "null",
       "Total USD all workers may spend; no new unit starts once it is reached."},
      {"merge_strategy", "\"per-slice\" or \"per-milestone\"", "\"per-milestone\"",
       "Merge back after every slice, or only once the whole milestone is done."},
      {"auto_merge", "\"auto\", \"confirm\" or \"manual\"", "\"confirm\"",
       "Merge on its own, ask first, or wait for an explicit merge command."},
      {"merge_order", "\"sequential\" or \"by-completion\"", "\"sequential\"",
       "Merge completed milestones in id order, or in the order they finish."},
      {"worker_command", "string", "\"\"",
       "Shell command run (sh -c, in the worktree) instead of the built-in worker; empty = "
       "built-in."},
      {"stale_timeout", "seconds, number > 0", "30",
       "A worker silent for this long is considered stale."},
      {"heartbeat_interval", "seconds, number > 0", "5",
       "How often a worker reports; must be below stale_timeout."},
      {"stop_grace", "seconds, number >= 0", "10",
       "Time a stopping worker gets between SIGTERM and SIGKILL."},
      {"push_remote", "string", "\"\"",
       "Remote that main is pushed to after a merge; empty = none."},
      {"push_timeout", "seconds, number > 0", "60",
       "A push that has not ended after this long is stopped and reported as failed."},
      {"merge_gate", "string", "\"\"",
       "Shell command run on each merge in the gate worktree .sf/worktrees/_gate before main "
       "moves; main moves only when it exits 0; empty = no gate."},
      {"merge_gate_timeout", "seconds, number > 0", "1800",
       "A gate still running after this long is stopped and counts as failed."},
      {"gate_batch", "integer (1-64)", "1",
       "How many queued merges the gate tests together; a failing batch is split to find the "
       "culprit."},
      {"on_gate_failure", "\"hold\" or \"agent\"", "\"hold\"",
       "A milestone that fails the gate is held for you; `agent` first resumes its agent with "
       "the failure and merges again."},
      {"gate_fix_rounds", "integer (1-10)", "2",
       "How many times on_gate_failure: agent asks a milestone's agent to fix a gate failure."},
      {"integration_branch", "string (a branch name)", "\"\"",
       "Branch milestones start from and merge into; empty = main, else master, else the "
       "branch checked out at the first start, recorded in the repository's git config."},
      {"delete_merged_branches", "boolean", "false",
       "Delete the milestone/<MID> branch once it is merged."},
      {"max_restarts", "integer (0-100)", "3",
       "Restarts allowed per milestone within restart_window before giving up."},
      {"restart_window", "seconds, number > 0", "600", "Period over which restarts are counted."},
      {"restart_backoff", "seconds, number >= 0", "1",
       "Wait before the first restart; it doubles for each further one."},
      {"worktree_setup", "string", "\"\"",
       "Shell command run once in a new worktree (copy .env, install dependencies); not a unit, "
       "not committed; empty = none."},
      {"worktree_setup_timeout", "seconds, number > 0", "600",
       "A worktree_setup still running after this long is stopped and the milestone fails."},
      {"git_hooks", "boolean", "true",
       "Run the repository's git hooks as git would: pre-commit and commit-msg on unit "
       "commits, pre-merge-commit on merges; false runs none."},
      {"hooks", "map of event to a command or {command, timeout}", "{}",
       "Commands run on unit_done, milestone_complete, needs_attention, conflict, "
       "budget_reached, failed (default timeout 30 s); a failing hook is only logged."},
      {"agents.default", "string (a profile name)", "\"\"",
       "The profile `agent: default` units use; empty = the only profile, when there is one."},
      {"agents.profiles.<name>.adapter", "\"claude\", \"codex\", \"aider\" or \"generic\"",
       "generic",
       "How the agent is started and its output read; a profile named like an adapter "
       "defaults to that adapter."},
      {"agents.profiles.<name>.command", "list of strings", "[]",
       "The agent's argv prefix; empty = the adapter's program (claude, codex, aider); the "
       "generic adapter needs one."},
      {"agents.profiles.<name>.model", "string", "\"\"",
       "Model passed to the agent; empty = the agent's own default."},
      {"agents.profiles.<name>.permission_mode", "string", "\"\"",
       "Claude Code's permission mode or Codex's sandbox; empty = the adapter's default."},
      {"agents.profiles.<name>.args", "list of strings", "[]",
       "Extra arguments, after the adapter's own and before the prompt."},
      {"agents.profiles.<name>.timeout", "seconds, number > 0, or null", "null",
       "An agent unit still running after this long is stopped and fails; a unit's own "
       "timeout: wins."},
      {"agents.profiles.<name>.idle_timeout", "seconds, number > 0, or null", "null",
       "No output for this long marks the milestone as needing attention; a unit's own wins."},
      {"agents.profiles.<name>.max_attempts", "integer (1-20)", "1",
       "Runs of the agent per unit when verify fails; a unit's own wins."},
      {"agents.commit_subject", "string", "\"{milestone}/{unit}: {summary}\"",
       "Subject of an agent unit's commit: {milestone}, {unit}, {title} and {summary} (the "
       "first line of the agent's last message) are filled in; 72 characters at most."},
      {"agents.prices", "map of model to {input, output, cached}", "{}",
       "USD per million tokens by model name as the agent reports it; input and output "
       "required, cached defaults to input."},
  };
  return keys;
}

namespace {

/// Where one file's values come from, for messages.
struct source {
  const std::string& path;
  std::size_t first_line;

  std::string at(const YAML::Node& node, std::size_t fallback) const {
    return path + ":" + std::to_string(line_of(node, first_line, fallback));
  }
};

/// Context for one key's value.
struct entry {
  const source& src;
  const std::string& key;
  const YAML::Node& value;
  std::size_t line;

  caf::error fail(const std::string& problem, const std::string& allowed) const {
    return make_error(ec::invalid_input, src.path + ":" + std::to_string(line) + ": parallel." +
                                             key + ": " + problem + "; allowed: " + allowed);
  }
};

bool is_null(const YAML::Node& n) {
  return !n.IsDefined() || n.IsNull();
}

caf::error get_bool(const entry& e, bool& out) {
  static const char* allowed = "true or false";
  if (is_plain_scalar(e.value)) {
    const auto& s = e.value.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") {
      out = true;
      return {};
    }
    if (s == "false" || s == "False" || s == "FALSE") {
      out = false;
      return {};
    }
  }
  return e.fail(describe_value(e.value) + " is not a boolean", allowed);
}

caf::error get_int(const entry& e, long lo, long hi, int& out) {
  auto allowed = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (!is_plain_scalar(e.value) || !matches_int(e.value.Scalar()))
    return e.fail(describe_value(e.value) + " is not an integer", allowed);
  errno = 0;
  long long v = std::strtoll(e.value.Scalar().c_str(), nullptr, 10);
  if (errno == ERANGE || v < lo || v > hi)
    return e.fail(describe_value(e.value) + " is out of range", allowed);
  out = static_cast<int>(v);
  return {};
}

/// A finite number with `v > lo` (or `v >= lo` when `inclusive`).
caf::error get_number(const entry& e, double lo, bool inclusive, const std::string& allowed,
                      double& out) {
  if (!is_plain_scalar(e.value) || !matches_number(e.value.Scalar()))
    return e.fail(describe_value(e.value) + " is not a number", allowed);
  double v = std::strtod(e.value.Scalar().c_str(), nullptr);
  if (!std::isfinite(v) || (inclusive ? v < lo : v <= lo))
    return e.fail(describe_value(e.value) + " is out of range", allowed);
  out = v;
  return {};
}

// Past this, a duration in milliseconds no longer fits the clocks it feeds (and no wait of a
// run is meant to last more than days).
constexpr double max_seconds = 1000000;

caf::error get_seconds(const entry& e, bool zero_ok, double& out) {
  std::string allowed = zero_ok ? "a number of seconds from 0 to 1000000"
                                : "a number of seconds greater than 0, at most 1000000";
  if (auto err = get_number(e, 0, zero_ok, allowed, out))
    return err;
  if (out > max_seconds)
    return e.fail(describe_value(e.value) + " is out of range", allowed);
  return {};
}

/// Strings may be any scalar; null means empty (the documented "off" value).
caf::error get_string(const entry& e, std::string& out) {
  if (is_null(e.value)) {
    out.clear();
    return {};
  }
  if (!e.value.IsScalar())
    return e.fail(describe_value(e.value) + " is not a string", "a string");
  out = e.value.Scalar();
  return {};
}

/// A name git would accept for a local branch (the rules of git check-ref-format that a
/// typo can break); the branch must also exist, which the repository checks.
bool plausible_branch_name(const std::string& s) {
  if (s.empty() || s.front() == '-' || s.front() == '/' || s.back() == '/' || s.back() == '.' ||
      s.find("..") != std::string::npos || s.find("//") != std::string::npos ||
      s.find("@{") != std::string::npos || s == "@" ||
      (s.size() >= 5 && s.compare(s.size() - 5, 5, ".lock") == 0))
    return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f || c == ' ' || c == '~' || c == '^' || c == ':' || c == '?' ||
        c == '*' || c == '[' || c == '\\')
      return false;
  return true;
}

template <class Enum, std::size_t N>
caf::error get_enum(const entry& e, const core::name_table<Enum, N>& names, Enum& out) {
  std::string allowed;
  for (auto name : names.names)
    allowed += (allowed.empty() ? "\"" : ", \"") + std::string{name} + "\"";
  if (!e.value.IsScalar())
    return e.fail(describe_value(e.value) + " is not allowed", allowed);
  if (auto v = names.parse(e.value.Scalar())) {
    out = *v;
    return {};
  }
  return e.fail("\"" + escape_text(e.value.Scalar()) + "\" is not allowed", allowed);
}

/// `hooks:`, merged event by event over what an earlier file set; a null or empty command
/// removes that event's hook (a project can turn off a hook of the home file).
caf::error get_hooks(const entry& e, preferences& p) {
  if (is_null(e.value))
    return {};
  if (!e.value.IsMap())
    return e.fail(describe_value(e.value) + " is not a map",
                  "a map of event to command, e.g. \"unit_done: notify-send done\"");
  std::set<std::string> seen;
  for (const auto& kv : e.value) {
    auto line = line_of(kv.first, e.src.first_line, e.line);
    auto name = kv.first.IsScalar() ? kv.first.Scalar() : std::string{};
    auto event = parse_hook_event(name);
    auto where = e.src.path + ":" + std::to_string(line) + ": parallel.hooks." + escape_text(name);
    // yaml-cpp would keep the first of two silently.
    if (!seen.insert(name).second)
      return make_error(ec::invalid_input, where + " appears twice; keep one");
    if (!event) {
      p.warnings.push_back(where + " is not a known event and is ignored; events: " +
                           hook_event_names());
      continue;
    }
    hook_command hook;
    // reset() rebinds; `=` on a Node would overwrite the tree it refers to.
    YAML::Node command;
    if (!kv.second.IsMap()) {
      command.reset(kv.second);
    } else {
      const YAML::Node& fields = kv.second; // const: looking a key up must not add it
      if (!fields["command"])
        return make_error(ec::invalid_input,
                          where + " has no command; add \"command: <shell command>\"");
      for (const auto& field : kv.second) {
        auto key = field.first.IsScalar() ? field.first.Scalar() : std::string{};
        if (key == "command") {
          command.reset(field.second);
          continue;
        }
        if (key == "timeout") {
          entry t{e.src, e.key, field.second, line_of(field.second, e.src.first_line, line)};
          if (auto err = get_seconds(t, false, hook.timeout))
            return make_error(ec::invalid_input,
                              where + ".timeout: " + describe_value(field.second) +
                                  " is not allowed; allowed: a number of seconds greater than "
                                  "0, at most 1000000");
        } else {
          p.warnings.push_back(where + "." + escape_text(key) +
                               " is not a known key and is ignored; a hook has command and "
                               "timeout");
        }
      }
    }
    if (!is_null(command) && !command.IsScalar())
      return make_error(ec::invalid_input, where + ": " + describe_value(command) +
                                               " is not allowed; allowed: a shell command, or "
                                               "{command: <shell command>, timeout: <seconds>}");
    hook.command = is_null(command) ? std::string{} : command.Scalar();
    if (hook.command.find_first_not_of(" \t") == std::string::npos)
      p.hooks.erase(*event);
    else
      p.hooks[*event] = std::move(hook);
    p.origin[std::string("hooks.") + to_string(*event)] = e.src.path;
  }
  return {};
}

using setter = std::function<caf::error(const entry&, preferences&)>;

const std::map<std::string, setter>& setters() {
  static const std::map<std::string, setter> table = {
      {"enabled", [](const entry& e, preferences& p) { return get_bool(e, p.enabled); }},
      {"max_workers",
       [](const entry& e, preferences& p) { return get_int(e, 1, 64, p.max_workers); }},
      {"budget_ceiling",
       [](const entry& e, preferences& p) -> caf::error {
         if (is_null(e.value)) {
           p.budget_ceiling.reset();
           return {};
         }
         double v = 0;
         if (auto err =
                 get_number(e, 0, false, "a number of USD greater than 0, or null for none", v))
           return err;
         p.budget_ceiling = v;
         return {};
       }},
      {"merge_strategy",
       [](const entry& e, preferences& p) {
         return get_enum(e, strategy_names, p.strategy);
       }},
      {"auto_merge",
       [](const entry& e, preferences& p) {
         return get_enum(e, auto_merge_names, p.auto_merge);
       }},
      {"merge_order",
       [](const entry& e, preferences& p) {
         return get_enum(e, order_names, p.order);
       }},
      {"worker_command",
       [](const entry& e, preferences& p) { return get_string(e, p.worker_command); }},
      {"stale_timeout",
       [](const entry& e, preferences& p) { return get_seconds(e, false, p.stale_timeout); }},
      {"heartbeat_interval",
       [](const entry& e, preferences& p) { return get_seconds(e, false, p.heartbeat_interval); }},
      {"stop_grace",
       [](const entry& e, preferences& p) { return get_seconds(e, true, p.stop_grace); }},
      {"push_remote", [](const entry& e, preferences& p) { return get_string(e, p.push_remote); }},
      {"push_timeout",
       [](const entry& e, preferences& p) { return get_seconds(e, false, p.push_timeout); }},
      {"merge_gate", [](const entry& e, preferences& p) { return get_string(e, p.merge_gate); }},
      {"merge_gate_timeout",
       [](const entry& e, preferences& p) { return get_seconds(e, false, p.merge_gate_timeout); }},
      {"gate_batch", [](const entry& e, preferences& p) { return get_int(e, 1, 64, p.gate_batch); }},
      {"on_gate_failure",
       [](const entry& e, preferences& p) {
         return get_enum(e, gate_failure_names, p.on_gate_failure);
       }},
      {"gate_fix_rounds",
       [](const entry& e, preferences& p) { return get_int(e, 1, 10, p.gate_fix_rounds); }},
      {"integration_branch",
       [](const entry& e, preferences& p) -> caf::error {
         if (auto err = get_string(e, p.integration_branch))
           return err;
         if (!p.integration_branch.empty() && !plausible_branch_name(p.integration_branch))
           return e.fail("\"" + escape_text(p.integration_branch) + "\" is not a branch name",
                         "a local branch name such as main or trunk, or \"\" to decide once");
         return {};
       }},
      {"delete_merged_branches",
       [](const entry& e, preferences& p) { return get_bool(e, p.delete_merged_branches); }},
      {"max_restarts",
       [](const entry& e, preferences& p) { return get_int(e, 0, 100, p.max_restarts); }},
      {"restart_window",
       [](const entry& e, preferences& p) { return get_seconds(e, false, p.restart_window); }},
      {"restart_backoff",
       [](const entry& e, preferences& p) { return get_seconds(e, true, p.restart_backoff); }},
      {"worktree_setup",
       [](const entry& e, preferences& p) { return get_string(e, p.worktree_setup); }},
      {"worktree_setup_timeout",
       [](const entry& e, preferences& p) {
         return get_seconds(e, false, p.worktree_setup_timeout);
       }},
      {"git_hooks", [](const entry& e, preferences& p) { return get_bool(e, p.git_hooks); }},
      {"hooks", get_hooks},
  };
  return table;
}

/// The closest known key, when it is close enough to be a plausible typo.
std::string suggest_key(const std::string& unknown) {
  // Unknown keys are user text of any length; long ones are never near a key name.
  if (unknown.size() > 64)
    return {};
  std::string best;
  std::size_t best_dist = std::max<std::size_t>(1, unknown.size() / 3) + 1;
  for (const auto& k : preference_keys()) {
    if (std::string_view{k.name}.find('.') != std::string_view::npos)
      continue; // An `agents.` path is not a key of `parallel:`.
    auto d = core::edit_distance(unknown, k.name);
    if (d < best_dist) {
      best_dist = d;
      best = k.name;
    }
  }
  return best;
}

std::string format_seconds(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

caf::error apply_impl(preferences& into, std::string_view text, const std::string& path,
                      const input_limits& limits) {
  try {
    if (text.size() > limits.max_file_bytes)
      return make_error(ec::invalid_input, path + ": the text has " + std::to_string(text.size()) +
                                               " bytes, more than the limit of " +
                                               std::to_string(limits.max_file_bytes));
    auto fm = split_front_matter(text, path);
    if (!fm)
      return fm.error();
    auto root = load_yaml(fm->yaml, fm->first_line, path, limits);
    if (!root)
      return root.error();
    source src{path, fm->first_line};
    if (is_null(*root))
      return {};
    if (!root->IsMap())
      return make_error(ec::invalid_input,
                        src.at(*root, fm->first_line) +
                            ": the front matter must be a map of keys (such as \"parallel:\"), "
                            "not " +
                            describe_value(*root));
    // The two blocks sf-actors reads; other top-level keys belong to other tools.
    std::map<std::string, std::pair<YAML::Node, std::size_t>> blocks;
    for (const auto& kv : *root) {
      if (!kv.first.IsScalar() || (kv.first.Scalar() != "parallel" && kv.first.Scalar() != "agents"))
        continue;
      const auto& name = kv.first.Scalar();
      auto line = line_of(kv.first, fm->first_line, fm->first_line);
      if (!blocks.emplace(name, std::make_pair(kv.second, line)).second)
        return make_error(ec::invalid_input, src.at(kv.first, fm->first_line) + ": \"" + name +
                                                 "\" appears twice; keep one block");
      if (!is_null(kv.second) && !kv.second.IsMap())
        return make_error(ec::invalid_input,
                          src.at(kv.second, line) + ": " + name + ": " +
                              describe_value(kv.second) +
                              " is not allowed; it must be a map of keys such as " +
                              (name == "parallel" ? "\"max_workers: 2\"" : "\"default: claude\""));
    }
    // Work on a copy so a file that fails half-way changes nothing.
    auto next = into;
    if (auto agents = blocks.find("agents"); agents != blocks.end())
      if (auto err = apply_agents_block(next.agents, agents->second.first, agents->second.second,
                                        {path, fm->first_line, next.origin, next.warnings}))
        return err;
    auto parallel = blocks.find("parallel");
    if (parallel == blocks.end() || is_null(parallel->second.first)) {
      into = std::move(next);
      return {};
    }
    const auto& block = parallel->second.first;
    std::set<std::string> keys_seen;
    for (const auto& kv : block) {
      auto key_line = line_of(kv.first, fm->first_line, fm->first_line);
      if (!kv.first.IsScalar())
        return make_error(ec::invalid_input, path + ":" + std::to_string(key_line) +
                                                 ": parallel: a key must be a plain name");
      const auto& key = kv.first.Scalar();
      if (!keys_seen.insert(key).second)
        return make_error(ec::invalid_input, path + ":" + std::to_string(key_line) + ": parallel." +
                                                 escape_text(key) + " appears twice; keep one");
      auto it = setters().find(key);
      if (it == setters().end()) {
        auto warning = path + ":" + std::to_string(key_line) + ": parallel." + escape_text(key) +
                       " is not a known key and is ignored";
        auto hint = suggest_key(key);
        if (key == "agents")
          warning += "; agents: is a block of its own, at the top next to parallel:";
        else if (!hint.empty())
          warning += "; did you mean `" + hint + "`?";
        next.warnings.push_back(std::move(warning));
        continue;
      }
      entry e{src, key, kv.second, line_of(kv.second, fm->first_line, key_line)};
      if (auto err = it->second(e, next))
        return err;
      next.origin[key] = path;
    }
    into = std::move(next);
    return {};
  } catch (const std::exception& e) {
    return make_error(ec::invalid_input, path + ": cannot read the preferences: " + e.what());
  }
}

caf::error apply_file(preferences& into, const std::string& path, const input_limits& limits) {
  auto text = read_input_file(path, limits);
  if (!text)
    return code_of(text.error()) == ec::not_found ? caf::error{} : text.error();
  return apply_impl(into, *text, path, limits);
}

std::string origin_of(const preferences& p, const std::string& key) {
  auto it = p.origin.find(key);
  return it == p.origin.end() ? "the default" : it->second;
}

} // namespace

caf::error apply_preferences(preferences& into, std::string_view text, const std::string& path) {
  return apply_impl(into, text, path, input_limits{});
}

caf::error validate_preferences(const preferences& p) {
  if (auto err = validate_agents(p.agents, p.origin))
    return err;
  if (p.heartbeat_interval < p.stale_timeout)
    return {};
  return make_error(
      ec::invalid_input,
      "parallel.heartbeat_interval (" + format_seconds(p.heartbeat_interval) + ", from " +
          origin_of(p, "heartbeat_interval") + ") must be less than parallel.stale_timeout (" +
          format_seconds(p.stale_timeout) + ", from " + origin_of(p, "stale_timeout") +
          "), or every worker looks stale; lower heartbeat_interval or raise "
          "stale_timeout");
}

caf::expected<preferences> load_preferences(const std::string& root, const std::string& home,
                                            const input_limits& limits) {
  preferences out;
  if (!home.empty())
    if (auto err = apply_file(out, core::preferences_file(home), limits))
      return err;
  if (auto err = apply_file(out, core::preferences_file(root), limits))
    return err;
  if (auto err = validate_preferences(out))
    return err;
  return out;
}

caf::expected<preferences> load_preferences(const std::string& root, const std::string& home) {
  return load_preferences(root, home, input_limits{});
}

caf::expected<preferences> load_preferences(const std::string& root) {
  const char* home = std::getenv("HOME");
  return load_preferences(root, home ? std::string{home} : std::string{});
}

} // namespace sf
