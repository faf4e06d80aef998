// The `agents:` block, `parallel.worktree_setup` and `parallel.hooks` of the preferences.
#include "config/preferences.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace std::chrono_literals;
using sf::test::temp_dir;
using sf::test::write_file;

namespace {

/// Applies `front` (a whole front matter) to defaults; the error's message, empty when none.
std::string apply_error(const std::string& front, sf::preferences* out = nullptr) {
  sf::preferences p;
  auto err = sf::apply_preferences(p, "---\n" + front + "---\n", "/p/P.md");
  if (out != nullptr)
    *out = p;
  return sf::describe(err);
}

sf::preferences applied(const std::string& front) {
  sf::preferences p;
  auto msg = apply_error(front, &p);
  REQUIRE(msg.empty());
  return p;
}

} // namespace

TEST_CASE("the agents block reads profiles, the default and prices", "[config][preferences]") {
  auto p = applied("agents:\n"
                   "  default: claude\n"
                   "  profiles:\n"
                   "    claude:\n"
                   "      adapter: claude\n"
                   "      command: [claude]\n"
                   "      model: sonnet\n"
                   "      permission_mode: acceptEdits\n"
                   "      args: [\"--max-turns\", \"40\"]\n"
                   "      timeout: 1800\n"
                   "      idle_timeout: 300\n"
                   "      max_attempts: 2\n"
                   "    fast: {adapter: codex, model: gpt-5-codex}\n"
                   "    codex:\n"
                   "  prices:\n"
                   "    gpt-5-codex: {input: 1.25, output: 10, cached: 0.125}\n"
                   "    other: {input: 3, output: 15}\n");
  const auto& a = p.agents;
  CHECK(a.default_profile == "claude");
  REQUIRE(a.profiles.size() == 3);
  const auto& c = a.profiles.at("claude");
  CHECK(c.name == "claude");
  CHECK(c.adapter == sf::agent_adapter::claude);
  CHECK(c.command == std::vector<std::string>{"claude"});
  CHECK(c.model == "sonnet");
  CHECK(c.permission_mode == "acceptEdits");
  CHECK(c.extra_args == std::vector<std::string>{"--max-turns", "40"});
  CHECK(c.limits.timeout == std::chrono::milliseconds(1800s));
  CHECK(c.limits.idle_timeout == std::chrono::milliseconds(300s));
  CHECK(c.limits.max_attempts == 2);
  CHECK(a.profiles.at("fast").adapter == sf::agent_adapter::codex);
  // A profile named like an adapter is that adapter; one with no fields keeps the defaults.
  const auto& x = a.profiles.at("codex");
  CHECK(x.adapter == sf::agent_adapter::codex);
  CHECK(x.command.empty());
  CHECK(x.model.empty());
  CHECK_FALSE(x.limits.timeout);
  CHECK_FALSE(x.limits.max_attempts);
  REQUIRE(a.prices.size() == 2);
  CHECK(a.prices.at("gpt-5-codex").input == 1.25);
  CHECK(a.prices.at("gpt-5-codex").output == 10);
  CHECK(a.prices.at("gpt-5-codex").cached == 0.125);
  // Without a cached price, cached tokens are charged as input: a budget errs on the safe side.
  CHECK(a.prices.at("other").cached == 3);
  CHECK(a.find("default") == &c);
  CHECK(a.find("") == &c);
  CHECK(a.find("fast") == &a.profiles.at("fast"));
  CHECK(a.find("nope") == nullptr);
  CHECK(p.warnings.empty());
  CHECK(p.origin.at("agents.default") == "/p/P.md");
  CHECK(p.origin.at("agents.profiles.claude.model") == "/p/P.md");
  CHECK(p.origin.at("agents.prices.other") == "/p/P.md");
}

TEST_CASE("the default profile: named, the only one, or none", "[config][preferences]") {
  auto one = applied("agents:\n  profiles:\n    mine: {command: [x]}\n");
  CHECK(one.agents.find("default") == &one.agents.profiles.at("mine"));
  CHECK(one.agents.profiles.at("mine").adapter == sf::agent_adapter::generic);
  auto two = applied("agents:\n  profiles:\n    a: {}\n    b: {}\n");
  CHECK(two.agents.find("default") == nullptr);
  CHECK(two.agents.find("b") == &two.agents.profiles.at("b"));
  CHECK(sf::preferences{}.agents.find("default") == nullptr);
  // A default naming no profile is refused once every file is read, naming where it was set.
  auto bad = applied("agents:\n  default: c\n  profiles:\n    a: {}\n");
  CHECK(sf::describe(sf::validate_preferences(bad)) ==
        "/p/P.md: agents.default is \"c\", which is not a profile; add it under agents.profiles "
        "or use one of: a");
}

TEST_CASE("bad agents values are one-line errors naming file, line, key and the fix",
          "[config][preferences]") {
  CHECK(apply_error("agents: 3\n") ==
        "/p/P.md:2: agents: 3 is not allowed; it must be a map of keys such as \"default: "
        "claude\"");
  CHECK(apply_error("agents:\n  profiles:\n    c:\n      adapter: gpt\n") ==
        "/p/P.md:5: agents.profiles.c.adapter: gpt is not allowed; allowed: \"claude\", "
        "\"codex\", \"aider\", \"generic\"");
  CHECK(apply_error("agents:\n  profiles:\n    c: {command: claude}\n") ==
        "/p/P.md:4: agents.profiles.c.command: claude is not allowed; allowed: a list of strings "
        "such as [\"--max-turns\", \"40\"]");
  CHECK(apply_error("agents:\n  profiles:\n    c: {args: [[a]]}\n") ==
        "/p/P.md:4: agents.profiles.c.args: a list is not allowed; allowed: a list of strings, "
        "each entry text");
  CHECK(apply_error("agents:\n  profiles:\n    c: {timeout: 0}\n") ==
        "/p/P.md:4: agents.profiles.c.timeout: 0 is not allowed; allowed: a number of seconds "
        "greater than 0, at most 1000000, or null for none");
  CHECK(apply_error("agents:\n  profiles:\n    c: {idle_timeout: soon}\n") ==
        "/p/P.md:4: agents.profiles.c.idle_timeout: soon is not allowed; allowed: a number of "
        "seconds greater than 0, at most 1000000, or null for none");
  CHECK(apply_error("agents:\n  profiles:\n    c: {max_attempts: 21}\n") ==
        "/p/P.md:4: agents.profiles.c.max_attempts: 21 is not allowed; allowed: an integer from "
        "1 to 20");
  CHECK(apply_error("agents:\n  profiles:\n    c: {model: [a]}\n") ==
        "/p/P.md:4: agents.profiles.c.model: a list is not allowed; allowed: a string");
  CHECK(apply_error("agents:\n  profiles:\n    c: fast\n") ==
        "/p/P.md:4: agents.profiles.c: fast is not allowed; allowed: a map of adapter, command, "
        "model, ... (or {} for the defaults)");
  CHECK(apply_error("agents:\n  profiles:\n    default: {}\n") ==
        "/p/P.md:4: agents.profiles: \"default\" is not allowed as a profile name; use letters, "
        "digits, '_', '-' or '.' (not \"default\", which names the default profile)");
  CHECK(apply_error("agents:\n  profiles:\n    \"a b\": {}\n") ==
        "/p/P.md:4: agents.profiles: \"a b\" is not allowed as a profile name; use letters, "
        "digits, '_', '-' or '.' (not \"default\", which names the default profile)");
  CHECK(apply_error("agents:\n  profiles:\n    c: {}\n    c: {}\n") ==
        "/p/P.md:5: agents.profiles.c appears twice; keep one");
  CHECK(apply_error("agents:\n  prices:\n    m: {input: 1}\n") ==
        "/p/P.md:4: agents.prices.m has no output price; give both input: and output: (USD per "
        "million tokens)");
  CHECK(apply_error("agents:\n  prices:\n    m: {output: 1}\n") ==
        "/p/P.md:4: agents.prices.m has no input price; give both input: and output: (USD per "
        "million tokens)");
  CHECK(apply_error("agents:\n  prices:\n    m: {input: -1, output: 2}\n") ==
        "/p/P.md:4: agents.prices.m.input: -1 is not allowed; allowed: a number of USD per "
        "million tokens from 0 to 1000000");
  CHECK(apply_error("agents:\n  prices:\n    m: 5\n") ==
        "/p/P.md:4: agents.prices.m: 5 is not allowed; allowed: a map such as {input: 1.25, "
        "output: 10, cached: 0.125}");
  CHECK(apply_error("agents:\n  default: [a]\n") ==
        "/p/P.md:3: agents.default: a list is not allowed; allowed: a string");
  CHECK(apply_error("agents:\n  x: 1\nagents:\n  y: 2\n") ==
        "/p/P.md:4: \"agents\" appears twice; keep one block");
}

TEST_CASE("unknown agents keys warn and are ignored", "[config][preferences]") {
  auto p = applied("agents:\n  profile: {}\n  profiles:\n    c: {modle: x}\n"
                   "  prices:\n    m: {input: 1, output: 2, cache: 3}\n"
                   "parallel:\n  agents: {}\n");
  REQUIRE(p.warnings.size() == 4);
  CHECK(p.warnings[0] == "/p/P.md:3: agents.profile is not a known key and is ignored; known: "
                         "default, profiles, prices, commit_subject");
  CHECK(p.warnings[1] == "/p/P.md:5: agents.profiles.c.modle is not a known key and is ignored; "
                         "known: adapter, command, model, permission_mode, args, timeout, "
                         "idle_timeout, max_attempts");
  CHECK(p.warnings[2] == "/p/P.md:7: agents.prices.m.cache is not a known key and is ignored; "
                         "known: input, output, cached");
  CHECK(p.warnings[3] == "/p/P.md:9: parallel.agents is not a known key and is ignored; agents: "
                         "is a block of its own, at the top next to parallel:");
  CHECK(p.agents.profiles.at("c").model.empty());
  CHECK(p.agents.prices.at("m").cached == 1);
}

TEST_CASE("home and project agents merge field by field, the project winning",
          "[config][preferences]") {
  temp_dir root;
  temp_dir home;
  write_file(
      home / ".sf/PREFERENCES.md",
      "---\nagents:\n  default: claude\n  profiles:\n"
      "    claude: {model: opus, args: [\"-v\"], timeout: 60}\n    aider: {}\n"
      "  prices:\n    m: {input: 1, output: 2, cached: 0.5}\n    gone: {input: 1, output: 1}\n"
      "---\n");
  write_file(root / ".sf/PREFERENCES.md",
             "---\nagents:\n  profiles:\n    claude: {model: sonnet, timeout: null}\n"
             "  prices:\n    m: {input: 4, output: 5}\n    gone: null\n---\n");
  auto p = sf::load_preferences(root.path(), home.path());
  REQUIRE(p);
  const auto& c = p->agents.profiles.at("claude");
  CHECK(c.model == "sonnet");
  CHECK(c.extra_args == std::vector<std::string>{"-v"});
  CHECK_FALSE(c.limits.timeout);
  CHECK(p->agents.profiles.count("aider") == 1);
  CHECK(p->agents.default_profile == "claude");
  // A price is one entry: the project's replaces the home file's whole.
  CHECK(p->agents.prices.at("m").cached == 4);
  CHECK(p->agents.prices.count("gone") == 0);
  auto home_file = home / ".sf/PREFERENCES.md";
  auto proj_file = root / ".sf/PREFERENCES.md";
  CHECK(p->origin.at("agents.default") == home_file);
  CHECK(p->origin.at("agents.profiles.claude.model") == proj_file);
  CHECK(p->origin.at("agents.profiles.claude.args") == home_file);
  CHECK(p->origin.at("agents.prices.m") == proj_file);
}

TEST_CASE("worktree_setup and hooks are read with their defaults", "[config][preferences]") {
  sf::preferences d;
  CHECK(d.worktree_setup.empty());
  CHECK(d.worktree_setup_timeout == 600);
  CHECK(d.hooks.empty());
  auto p = applied("parallel:\n  worktree_setup: cp ../.env .env\n  worktree_setup_timeout: 30\n"
                   "  hooks:\n    unit_done: notify-send done\n"
                   "    failed: {command: ./alert.sh, timeout: 5}\n"
                   "    conflict: {command: echo c}\n");
  CHECK(p.worktree_setup == "cp ../.env .env");
  CHECK(p.worktree_setup_timeout == 30);
  REQUIRE(p.hooks.size() == 3);
  CHECK(p.hooks.at(sf::hook_event::unit_done).command == "notify-send done");
  CHECK(p.hooks.at(sf::hook_event::unit_done).timeout == 30);
  CHECK(p.hooks.at(sf::hook_event::failed).command == "./alert.sh");
  CHECK(p.hooks.at(sf::hook_event::failed).timeout == 5);
  CHECK(p.hooks.at(sf::hook_event::conflict).timeout == sf::default_hook_timeout);
  CHECK(p.origin.at("hooks") == "/p/P.md");
  CHECK(p.origin.at("hooks.failed") == "/p/P.md");
  for (auto e : {sf::hook_event::unit_done, sf::hook_event::milestone_complete,
                 sf::hook_event::needs_attention, sf::hook_event::conflict,
                 sf::hook_event::budget_reached, sf::hook_event::failed})
    CHECK(sf::parse_hook_event(sf::to_string(e)) == e);
}

TEST_CASE("bad hooks and worktree_setup values are one-line errors", "[config][preferences]") {
  CHECK(apply_error("parallel:\n  hooks: [a]\n") ==
        "/p/P.md:3: parallel.hooks: a list is not a map; allowed: a map of event to command, "
        "e.g. \"unit_done: notify-send done\"");
  CHECK(apply_error("parallel:\n  hooks:\n    failed: [a]\n") ==
        "/p/P.md:4: parallel.hooks.failed: a list is not allowed; allowed: a shell command, or "
        "{command: <shell command>, timeout: <seconds>}");
  CHECK(apply_error("parallel:\n  hooks:\n    failed: {timeout: 3}\n") ==
        "/p/P.md:4: parallel.hooks.failed has no command; add \"command: <shell command>\"");
  CHECK(apply_error("parallel:\n  hooks:\n    failed: {command: x, timeout: 0}\n") ==
        "/p/P.md:4: parallel.hooks.failed.timeout: 0 is not allowed; allowed: a number of "
        "seconds greater than 0, at most 1000000");
  CHECK(apply_error("parallel:\n  worktree_setup_timeout: 0\n") ==
        "/p/P.md:3: parallel.worktree_setup_timeout: 0 is out of range; allowed: a number of "
        "seconds greater than 0, at most 1000000");
  CHECK(apply_error("parallel:\n  hooks:\n    failed: a\n    failed: b\n") ==
        "/p/P.md:5: parallel.hooks.failed appears twice; keep one");
  CHECK(apply_error("parallel:\n  worktree_setup: [a]\n") ==
        "/p/P.md:3: parallel.worktree_setup: a list is not a string; allowed: a string");
}

TEST_CASE("unknown hook events warn; a project can turn a home hook off", "[config][preferences]") {
  auto p = applied("parallel:\n  hooks:\n    unit_don: x\n    done: {command: y, retries: 2}\n");
  REQUIRE(p.warnings.size() == 2);
  CHECK(p.warnings[0] == "/p/P.md:4: parallel.hooks.unit_don is not a known event and is "
                         "ignored; events: \"unit_done\", \"milestone_complete\", "
                         "\"needs_attention\", \"conflict\", \"budget_reached\", \"failed\"");
  CHECK(p.warnings[1].rfind("/p/P.md:5: parallel.hooks.done is not a known event", 0) == 0);
  CHECK(p.hooks.empty());
  temp_dir root;
  temp_dir home;
  write_file(home / ".sf/PREFERENCES.md",
             "---\nparallel:\n  hooks:\n    failed: alert\n    unit_done: ding\n---\n");
  write_file(root / ".sf/PREFERENCES.md", "---\nparallel:\n  hooks:\n    failed: null\n---\n");
  auto merged = sf::load_preferences(root.path(), home.path());
  REQUIRE(merged);
  CHECK(merged->hooks.count(sf::hook_event::failed) == 0);
  CHECK(merged->hooks.at(sf::hook_event::unit_done).command == "ding");
  CHECK(merged->origin.at("hooks.failed") == root / ".sf/PREFERENCES.md");
}
