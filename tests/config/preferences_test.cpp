#include "config/plan.hpp"
#include "config/preferences.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <string>

using sf::test::temp_dir;
using sf::test::write_file;

namespace {

/// A preferences file whose `parallel:` block holds `body` (already indented).
std::string prefs(const std::string& body) {
  return "---\nparallel:\n" + body + "---\n# notes\n";
}

/// The one-line message of applying `text` to defaults; empty when it succeeded.
std::string apply_error(const std::string& text,
                        const std::string& path = "/p/.sf/PREFERENCES.md") {
  sf::preferences p;
  return sf::describe(sf::apply_preferences(p, text, path));
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("defaults when no file exists", "[config][preferences]") {
  temp_dir root;
  temp_dir home;
  auto p = sf::load_preferences(root.path(), home.path());
  REQUIRE(p);
  CHECK_FALSE(p->enabled);
  CHECK(p->max_workers == 2);
  CHECK_FALSE(p->budget_ceiling);
  CHECK(p->strategy == sf::merge_strategy::per_milestone);
  CHECK(p->auto_merge == sf::auto_merge_mode::confirm);
  CHECK(p->order == sf::merge_order::sequential);
  CHECK(p->worker_command.empty());
  CHECK(p->stale_timeout == 30);
  CHECK(p->heartbeat_interval == 5);
  CHECK(p->stop_grace == 10);
  CHECK(p->push_remote.empty());
  CHECK(p->merge_gate.empty());
  CHECK(p->on_gate_failure == sf::gate_failure_action::hold);
  CHECK(p->gate_fix_rounds == 2);
  CHECK_FALSE(p->delete_merged_branches);
  CHECK(p->git_hooks);
  CHECK(p->max_restarts == 3);
  CHECK(p->restart_window == 600);
  CHECK(p->restart_backoff == 1);
  CHECK(p->warnings.empty());
  CHECK(p->origin.empty());
}

TEST_CASE("absent or null parallel block keeps defaults", "[config][preferences]") {
  for (auto text : {"---\nother: 1\n---\n", "---\nparallel:\n---\n", "---\nparallel: ~\n---\n",
                    "---\n---\nbody\n"}) {
    sf::preferences p;
    REQUIRE_FALSE(sf::apply_preferences(p, text, "x.md"));
    CHECK(p.max_workers == 2);
    CHECK(p.origin.empty());
  }
}

TEST_CASE("every key is read with its value", "[config][preferences]") {
  sf::preferences p;
  auto err = sf::apply_preferences(p, "---\nparallel:\n" + std::string(R"(  enabled: true
  max_workers: 64
  budget_ceiling: 12.5
  merge_strategy: per-slice
  auto_merge: "auto"
  merge_order: by-completion
  worker_command: "./work.sh --fast"
  stale_timeout: 45.5
  heartbeat_interval: 2
  stop_grace: 0
  push_remote: origin
  push_timeout: 12.5
  merge_gate: make check
  merge_gate_timeout: 90
  gate_batch: 8
  on_gate_failure: agent
  gate_fix_rounds: 3
  integration_branch: trunk
  delete_merged_branches: true
  max_restarts: 0
  restart_window: 60
  restart_backoff: 0
  worktree_setup: ./setup.sh
  worktree_setup_timeout: 20
  git_hooks: false
  hooks: {failed: ./alert.sh}
)") + "agents:\n  default: p\n  profiles:\n    p: {adapter: codex, command: [x], model: m, "
                                         "permission_mode: auto, args: [-v], timeout: 9, "
                                         "idle_timeout: 3, max_attempts: 4}\n"
                                         "  prices:\n    m: {input: 1, output: 2}\n"
                                         "  commit_subject: \"{unit}: {summary}\"\n---\n",
                                   "f.md");
  REQUIRE_FALSE(err);
  CHECK(p.enabled);
  CHECK(p.max_workers == 64);
  REQUIRE(p.budget_ceiling);
  CHECK(*p.budget_ceiling == 12.5);
  CHECK(p.strategy == sf::merge_strategy::per_slice);
  CHECK(p.auto_merge == sf::auto_merge_mode::automatic);
  CHECK(p.order == sf::merge_order::by_completion);
  CHECK(p.worker_command == "./work.sh --fast");
  CHECK(p.stale_timeout == 45.5);
  CHECK(p.heartbeat_interval == 2);
  CHECK(p.stop_grace == 0);
  CHECK(p.push_remote == "origin");
  CHECK(p.push_timeout == 12.5);
  CHECK(p.merge_gate == "make check");
  CHECK(p.merge_gate_timeout == 90);
  CHECK(p.gate_batch == 8);
  CHECK(p.on_gate_failure == sf::gate_failure_action::agent);
  CHECK(p.gate_fix_rounds == 3);
  CHECK(p.integration_branch == "trunk");
  CHECK(p.delete_merged_branches);
  CHECK(p.max_restarts == 0);
  CHECK(p.restart_window == 60);
  CHECK(p.restart_backoff == 0);
  CHECK(p.worktree_setup == "./setup.sh");
  CHECK(p.worktree_setup_timeout == 20);
  CHECK_FALSE(p.git_hooks);
  CHECK(p.hooks.at(sf::hook_event::failed).command == "./alert.sh");
  CHECK(p.agents.default_profile == "p");
  CHECK(p.agents.profiles.at("p").limits.max_attempts == 4);
  CHECK(p.agents.commit_subject == "{unit}: {summary}");
  // Every documented key has its origin: `<name>` and `<model>` spelled out here.
  for (const auto& k : sf::preference_keys()) {
    auto name = std::string{k.name};
    for (auto [from, to] : {std::pair{"<name>", "p"}, std::pair{"<model>", "m"}})
      if (auto at = name.find(from); at != std::string::npos)
        name.replace(at, std::string{from}.size(), to);
    CAPTURE(name);
    CHECK(p.origin.count(name) == 1);
  }
  CHECK(p.warnings.empty());
}

TEST_CASE("preference_keys documents exactly the accepted keys", "[config][preferences]") {
  const auto& keys = sf::preference_keys();
  REQUIRE(keys.size() == 37);
  for (const auto& k : keys) {
    CAPTURE(k.name);
    CHECK(std::string{k.type}.size() > 0);
    CHECK(std::string{k.default_value}.size() > 0);
    CHECK(std::string{k.description}.size() > 0);
    // Each documented key must be accepted without an unknown-key warning: a plain name under
    // `parallel:`, a dotted one as the nested maps it names (`<name>` a profile called p).
    std::string name = k.name;
    if (auto at = name.find("<name>"); at != std::string::npos)
      name.replace(at, 6, "p");
    std::string text = "---\n";
    std::string indent;
    if (name.find('.') == std::string::npos)
      text += "parallel:\n", indent = "  ";
    std::size_t from = 0;
    for (auto dot = name.find('.'); dot != std::string::npos; dot = name.find('.', from)) {
      text += indent + name.substr(from, dot - from) + ":\n";
      indent += "  ";
      from = dot + 1;
    }
    text += indent + name.substr(from) + ": " + k.default_value + "\n---\n";
    CAPTURE(text);
    sf::preferences p;
    REQUIRE_FALSE(sf::apply_preferences(p, text, "f.md"));
    CHECK(p.warnings.empty());
    CHECK(p.origin.count(name) == 1);
  }
}

TEST_CASE("home then project, project wins key by key", "[config][preferences]") {
  temp_dir root;
  temp_dir home;
  auto home_file = home / ".sf/PREFERENCES.md";
  auto proj_file = root / ".sf/PREFERENCES.md";
  write_file(home_file, prefs("  enabled: true\n  max_workers: 8\n  budget_ceiling: 50\n"));
  write_file(proj_file, prefs("  max_workers: 3\n  budget_ceiling: null\n") + "extra body\n");
  auto p = sf::load_preferences(root.path(), home.path());
  REQUIRE(p);
  CHECK(p->enabled);
  CHECK(p->max_workers == 3);
  CHECK_FALSE(p->budget_ceiling);
  CHECK(p->origin.at("enabled") == home_file);
  CHECK(p->origin.at("max_workers") == proj_file);
  CHECK(p->origin.at("budget_ceiling") == proj_file);
  CHECK(p->origin.count("auto_merge") == 0);
}

TEST_CASE("one-argument overload reads HOME", "[config][preferences]") {
  temp_dir root;
  temp_dir home;
  write_file(home / ".sf/PREFERENCES.md", prefs("  max_workers: 7\n"));
  const char* old = std::getenv("HOME");
  std::string saved = old ? old : "";
  ::setenv("HOME", home.path().c_str(), 1);
  auto with_home = sf::load_preferences(root.path());
  ::unsetenv("HOME");
  auto without_home = sf::load_preferences(root.path());
  if (old)
    ::setenv("HOME", saved.c_str(), 1);
  REQUIRE(with_home);
  CHECK(with_home->max_workers == 7);
  REQUIRE(without_home);
  CHECK(without_home->max_workers == 2);
}

TEST_CASE("wrong types and out-of-range values name file, line, key, value and allowed values",
          "[config][preferences]") {
  struct bad {
    std::string line;
    std::string key;
    std::string value;
    std::string allowed;
  };
  std::vector<bad> cases = {
      {"enabled: yes", "enabled", "yes", "true or false"},
      {"enabled: 1", "enabled", "1", "true or false"},
      {"enabled: \"true\"", "enabled", "\"true\"", "true or false"},
      {"delete_merged_branches: on", "delete_merged_branches", "on", "true or false"},
      {"max_workers: 99", "max_workers", "99", "an integer from 1 to 64"},
      {"max_workers: 0", "max_workers", "0", "an integer from 1 to 64"},
      {"max_workers: 2.5", "max_workers", "2.5", "an integer from 1 to 64"},
      {"max_workers: \"2\"", "max_workers", "\"2\"", "an integer from 1 to 64"},
      {"max_workers: 99999999999999999999999", "max_workers", "99999999999999999999999",
       "an integer from 1 to 64"},
      {"max_workers: [1]", "max_workers", "a list", "an integer from 1 to 64"},
      {"max_restarts: 101", "max_restarts", "101", "an integer from 0 to 100"},
      {"max_restarts: -1", "max_restarts", "-1", "an integer from 0 to 100"},
      {"budget_ceiling: 0", "budget_ceiling", "0", "greater than 0"},
      {"budget_ceiling: -3", "budget_ceiling", "-3", "greater than 0"},
      {"budget_ceiling: lots", "budget_ceiling", "lots", "greater than 0"},
      {"budget_ceiling: .inf", "budget_ceiling", ".inf", "greater than 0"},
      {"merge_strategy: fast", "merge_strategy", "\"fast\"", "\"per-slice\", \"per-milestone\""},
      {"auto_merge: yes", "auto_merge", "\"yes\"", "\"auto\", \"confirm\", \"manual\""},
      {"merge_order: random", "merge_order", "\"random\"", "\"sequential\", \"by-completion\""},
      {"merge_order: {a: 1}", "merge_order", "a map", "\"sequential\", \"by-completion\""},
      {"worker_command: [a, b]", "worker_command", "a list", "a string"},
      {"push_remote: {x: y}", "push_remote", "a map", "a string"},
      {"push_timeout: 0", "push_timeout", "0", "greater than 0"},
      {"merge_gate: [make, check]", "merge_gate", "a list", "a string"},
      {"merge_gate_timeout: 0", "merge_gate_timeout", "0", "greater than 0"},
      {"gate_batch: 0", "gate_batch", "0", "an integer from 1 to 64"},
      {"on_gate_failure: retry", "on_gate_failure", "\"retry\"", "\"hold\", \"agent\""},
      {"gate_fix_rounds: 11", "gate_fix_rounds", "11", "an integer from 1 to 10"},
      {"integration_branch: \"my branch\"", "integration_branch", "\"my branch\"",
       "a local branch name"},
      {"integration_branch: main..x", "integration_branch", "\"main..x\"", "a local branch name"},
      {"integration_branch: [main]", "integration_branch", "a list", "a string"},
      {"stale_timeout: 0", "stale_timeout", "0", "greater than 0"},
      {"stale_timeout: \"30\"", "stale_timeout", "\"30\"", "greater than 0"},
      {"heartbeat_interval: -1", "heartbeat_interval", "-1", "greater than 0"},
      {"stop_grace: -0.5", "stop_grace", "-0.5", "from 0 to 1000000"},
      {"stop_grace: null", "stop_grace", "null", "from 0 to 1000000"},
      {"restart_window: 0", "restart_window", "0", "greater than 0"},
      {"restart_backoff: -2", "restart_backoff", "-2", "from 0 to 1000000"},
      {"restart_backoff: true", "restart_backoff", "true", "from 0 to 1000000"},
      {"stale_timeout: 1e300", "stale_timeout", "1e300", "at most 1000000"},
      {"stop_grace: 2000000", "stop_grace", "2000000", "from 0 to 1000000"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    // The bad key sits on file line 4, after a valid key on line 3.
    sf::preferences p;
    std::string first = c.key == "enabled" ? "max_workers: 3" : "enabled: false";
    auto err = sf::apply_preferences(p, prefs("  " + first + "\n  " + c.line + "\n"),
                                     "/p/.sf/PREFERENCES.md");
    REQUIRE(err);
    CHECK(sf::code_of(err) == sf::ec::invalid_input);
    auto msg = sf::describe(err);
    CAPTURE(msg);
    CHECK(msg.rfind("/p/.sf/PREFERENCES.md:4: parallel." + c.key + ": " + c.value, 0) == 0);
    auto allowed_at = msg.find("; allowed: ");
    REQUIRE(allowed_at != std::string::npos);
    CHECK(contains(msg.substr(allowed_at), c.allowed));
    CHECK(msg.find('\n') == std::string::npos);
    // A failing file changes nothing, not even keys before the bad one.
    CHECK(p.origin.empty());
  }
}

TEST_CASE("the messages match the documented form exactly", "[config][preferences]") {
  CHECK(apply_error(prefs("  enabled: true\n  max_workers: 99\n")) ==
        "/p/.sf/PREFERENCES.md:4: parallel.max_workers: 99 is out of range; allowed: an "
        "integer from 1 to 64");
  CHECK(apply_error(prefs("  merge_strategy: \"fast\"\n")) ==
        "/p/.sf/PREFERENCES.md:3: parallel.merge_strategy: \"fast\" is not allowed; allowed: "
        "\"per-slice\", \"per-milestone\"");
}

TEST_CASE("parallel must be a map", "[config][preferences]") {
  auto msg = apply_error("---\nparallel: 3\n---\n");
  CHECK(contains(msg, "/p/.sf/PREFERENCES.md:2: parallel: 3"));
  CHECK(contains(apply_error("---\nparallel: [a]\n---\n"), "parallel: a list"));
  CHECK(contains(apply_error("---\n- a\n---\n"), "must be a map"));
}

TEST_CASE("other top-level keys are ignored", "[config][preferences]") {
  sf::preferences p;
  REQUIRE_FALSE(sf::apply_preferences(
      p, "---\nmodels: {a: b}\nparallel:\n  max_workers: 4\ntheme: dark\n---\n", "f.md"));
  CHECK(p.max_workers == 4);
  CHECK(p.warnings.empty());
}

TEST_CASE("unknown keys warn, with a suggestion only when one is close", "[config][preferences]") {
  sf::preferences p;
  REQUIRE_FALSE(sf::apply_preferences(
      p, prefs("  max_worker: 3\n  budget_cieling: 5\n  colour_theme: dark\n"), "/h/P.md"));
  REQUIRE(p.warnings.size() == 3);
  CHECK(contains(p.warnings[0], "/h/P.md:3: parallel.max_worker"));
  CHECK(contains(p.warnings[0], "did you mean `max_workers`?"));
  CHECK(contains(p.warnings[1], "/h/P.md:4: parallel.budget_cieling"));
  CHECK(contains(p.warnings[1], "did you mean `budget_ceiling`?"));
  CHECK(contains(p.warnings[2], "/h/P.md:5: parallel.colour_theme"));
  CHECK_FALSE(contains(p.warnings[2], "did you mean"));
  // Unknown keys never change values.
  CHECK(p.max_workers == 2);
  CHECK_FALSE(p.budget_ceiling);
}

TEST_CASE("duplicate keys are refused", "[config][preferences]") {
  auto msg = apply_error(prefs("  max_workers: 3\n  max_workers: 4\n"));
  CHECK(contains(msg, ":4: parallel.max_workers appears twice"));
}

TEST_CASE("front matter problems are reported with file and line", "[config][preferences]") {
  auto empty = apply_error("");
  CHECK(contains(empty, "/p/.sf/PREFERENCES.md: the file is empty"));
  CHECK(contains(apply_error("\n  \n"), "the file is empty"));
  auto missing = apply_error("parallel:\n  enabled: true\n");
  CHECK(contains(missing, "/p/.sf/PREFERENCES.md:1: no front matter"));
  auto open = apply_error("---\nparallel:\n  enabled: true\n");
  CHECK(contains(open, "/p/.sf/PREFERENCES.md:1:"));
  CHECK(contains(open, "never closed"));
  // "..." also closes, and CRLF line ends are accepted.
  CHECK(apply_error("---\r\nparallel:\r\n  max_workers: 3\r\n...\r\n").empty());
}

TEST_CASE("YAML syntax errors give the file's line", "[config][preferences]") {
  auto msg = apply_error("---\n# comment\nparallel: [unclosed\n---\n");
  CAPTURE(msg);
  CHECK(contains(msg, "/p/.sf/PREFERENCES.md:"));
  CHECK(contains(msg, "not valid YAML"));
  // yaml-cpp reports the missing bracket at the end of the YAML, line 3 or 4 of the file.
  CHECK((contains(msg, "PREFERENCES.md:3:") || contains(msg, "PREFERENCES.md:4:")));
  auto bad_indent = apply_error("---\nparallel:\n  a: 1\n b: 2\n---\n");
  CHECK(contains(bad_indent, "PREFERENCES.md:4:"));
}

TEST_CASE("heartbeat_interval must be below stale_timeout", "[config][preferences]") {
  temp_dir root;
  temp_dir home;
  auto home_file = home / ".sf/PREFERENCES.md";
  auto proj_file = root / ".sf/PREFERENCES.md";
  write_file(home_file, prefs("  stale_timeout: 10\n"));
  write_file(proj_file, prefs("  heartbeat_interval: 10\n"));
  auto p = sf::load_preferences(root.path(), home.path());
  REQUIRE_FALSE(p);
  auto msg = sf::describe(p.error());
  CHECK(contains(msg, "parallel.heartbeat_interval"));
  CHECK(contains(msg, "parallel.stale_timeout"));
  CHECK(contains(msg, home_file));
  CHECK(contains(msg, proj_file));
  // With only one side set, the other is named as the default.
  write_file(home_file, prefs("  enabled: true\n"));
  write_file(proj_file, prefs("  heartbeat_interval: 31\n"));
  auto q = sf::load_preferences(root.path(), home.path());
  REQUIRE_FALSE(q);
  CHECK(contains(sf::describe(q.error()), "the default"));
}

TEST_CASE("a symlinked preferences file is refused", "[config][preferences]") {
  temp_dir root;
  temp_dir home;
  write_file(root / "real.md", prefs("  max_workers: 5\n"));
  write_file(root / ".sf/keep", "");
  REQUIRE(::symlink((root / "real.md").c_str(), (root / ".sf/PREFERENCES.md").c_str()) == 0);
  auto p = sf::load_preferences(root.path(), home.path());
  REQUIRE_FALSE(p);
  CHECK(sf::code_of(p.error()) == sf::ec::unsafe_path);
  CHECK(contains(sf::describe(p.error()), root / ".sf/PREFERENCES.md"));
  CHECK(contains(sf::describe(p.error()), "symbolic link"));
}

TEST_CASE("an error in the home file stops loading", "[config][preferences]") {
  temp_dir root;
  temp_dir home;
  write_file(home / ".sf/PREFERENCES.md", prefs("  max_workers: nope\n"));
  auto p = sf::load_preferences(root.path(), home.path());
  REQUIRE_FALSE(p);
  CHECK(contains(sf::describe(p.error()), home / ".sf/PREFERENCES.md:3:"));
}

TEST_CASE("preferences over the size limit are refused", "[config][preferences]") {
  temp_dir root;
  temp_dir home;
  sf::input_limits small;
  small.max_file_bytes = 64;
  write_file(root / ".sf/PREFERENCES.md", prefs("  max_workers: 3\n") + std::string(100, '#'));
  auto p = sf::load_preferences(root.path(), home.path(), small);
  REQUIRE_FALSE(p);
  CHECK(contains(sf::describe(p.error()), "more than the limit of 64"));
  // The default limit (1 MiB) applies to the two-argument overload.
  write_file(root / ".sf/PREFERENCES.md", prefs("  max_workers: 3\n") + std::string(1 << 20, '#'));
  auto q = sf::load_preferences(root.path(), home.path());
  REQUIRE_FALSE(q);
  CHECK(contains(sf::describe(q.error()), "more than the limit of 1048576"));
}

TEST_CASE("hostile nesting and alias bombs in preferences are refused", "[config][preferences]") {
  auto deep = apply_error("---\nparallel: " + std::string(100000, '[') + "\n---\n");
  CHECK(contains(deep, "/p/.sf/PREFERENCES.md:2: the YAML nests deeper than 32"));
  std::string bomb = "---\na: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    bomb += std::string(1, c) + ": &" + std::string(1, c) + " [";
    for (int i = 0; i < 10; ++i)
      bomb += (i ? ", *" : "*") + prev;
    bomb += "]\n";
  }
  bomb += "parallel:\n  max_workers: 3\n---\n";
  CHECK(contains(apply_error(bomb), "more than 100000 YAML nodes"));
}
