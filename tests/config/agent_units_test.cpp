// Agent units in the plan (`agent:`, `prompt:`, `verify:`, limits) and the check that joins
// them with the preferences' profiles.
#include "config/agent_units_check.hpp"
#include "config/plan.hpp"
#include "config/preferences.hpp"
#include "messages/error.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace std::chrono_literals;

namespace {

/// A milestone M001 at /r/M.md whose front matter is `front`.
caf::expected<sf::milestone> parse(const std::string& front) {
  return sf::parse_milestone("---\n" + front + "---\nBody.\n", "M001", "/r/M.md");
}

/// The message of parsing `front`; empty when it parsed.
std::string error_of(const std::string& front) {
  auto m = parse(front);
  return m ? std::string{} : sf::describe(m.error());
}

/// Front matter with one slice S01 holding, after a shell unit U0, one unit U1 whose fields are
/// the lines `unit` (indented by four here): it is `slices[0].units[1]`, its first field on line
/// 9 of the file.
std::string with_unit(const std::string& unit, const std::string& top = "") {
  std::string fields;
  for (std::size_t at = 0; at < unit.size();) {
    auto end = unit.find('\n', at);
    fields += "    " + unit.substr(at, end - at + 1);
    at = end + 1;
  }
  return "title: T\n" + top + "slices:\n  - id: S01\n    units:\n      - id: U0\n" +
         "        run: \"true\"\n      - id: U1\n" + fields;
}

sf::preferences prefs_with(const std::string& agents_yaml) {
  sf::preferences p;
  auto err = sf::apply_preferences(p, "---\nagents:\n" + agents_yaml + "---\n", "/r/P.md");
  REQUIRE_FALSE(err);
  return p;
}

sf::plan plan_of(const std::string& front) {
  auto m = parse(front);
  REQUIRE(m);
  sf::plan p;
  p.milestones.push_back(std::move(*m));
  return p;
}

} // namespace

TEST_CASE("an agent unit reads its profile, prompt, verify and limits", "[config][plan]") {
  auto m = parse("title: T\nverify: make test\nslices:\n  - id: S01\n    units:\n"
                 "      - id: U1\n        agent: claude\n        prompt: |\n          Add a.\n"
                 "          Then b.\n        verify: make check\n        timeout: 90\n"
                 "        idle_timeout: 0.5\n        max_attempts: 3\n"
                 "      - id: U2\n        agent: default\n"
                 "      - id: U3\n        run: echo hi\n");
  REQUIRE(m);
  const auto& units = m->slices[0].units;
  REQUIRE(units.size() == 3);
  CHECK(units[0].is_agent());
  CHECK(units[0].agent == "claude");
  CHECK(units[0].prompt == "Add a.\nThen b.\n");
  CHECK(units[0].run.empty());
  CHECK(units[0].files.empty());
  CHECK(units[0].limits.timeout == std::chrono::milliseconds(90s));
  CHECK(units[0].limits.idle_timeout == 500ms);
  CHECK(units[0].limits.max_attempts == 3);
  CHECK(m->verify == "make test");
  CHECK(m->verify_of(units[0]) == "make check");
  // A unit without its own verify takes the milestone's; limits it does not set stay unset.
  CHECK(units[1].agent == "default");
  CHECK(m->verify_of(units[1]) == "make test");
  CHECK_FALSE(units[1].limits.timeout);
  CHECK_FALSE(units[1].limits.idle_timeout);
  CHECK_FALSE(units[1].limits.max_attempts);
  CHECK_FALSE(units[2].is_agent());
  CHECK(units[2].run == "echo hi");
}

TEST_CASE("a unit needs exactly one of run and agent", "[config][plan]") {
  CHECK(error_of(with_unit("    title: X\n")) ==
        "/r/M.md:8: milestone M001: slice S01, unit U1: slices[0].units[1] has neither run: nor "
        "agent:; add run: (a shell command) or agent: (a profile from .sf/PREFERENCES.md)");
  CHECK(error_of(with_unit("    run: make\n    agent: claude\n")) ==
        "/r/M.md:10: milestone M001: slice S01, unit U1: slices[0].units[1] has both run: and "
        "agent:; keep run: for a shell command or agent: for a coding agent");
  CHECK(error_of(with_unit("    agent: \"  \"\n")) ==
        "/r/M.md:9: milestone M001: slice S01, unit U1: slices[0].units[1].agent is empty; name "
        "a profile from .sf/PREFERENCES.md (agents.profiles), or default");
  CHECK(error_of(with_unit("    run: \"\"\n")) ==
        "/r/M.md:9: milestone M001: slice S01, unit U1: slices[0].units[1].run is empty; add "
        "\"run: <shell command>\"");
  CHECK(error_of(with_unit("    agent: [a]\n")) ==
        "/r/M.md:9: milestone M001: slice S01, unit U1: agent is a list; it must be text");
}

TEST_CASE("agent-only fields on a shell unit are refused with what to do instead",
          "[config][plan]") {
  const std::string at = "/r/M.md:10: milestone M001: slice S01, unit U1: slices[0].units[1].";
  CHECK(error_of(with_unit("    run: make\n    prompt: do it\n")) ==
        at + "prompt is only for agent: units; drop it, or replace run: with agent: <profile>");
  CHECK(error_of(with_unit("    run: make\n    verify: make test\n")) ==
        at + "verify is only for agent: units; on a shell unit, put the check in the command "
             "(run: \"make && make test\")");
  CHECK(error_of(with_unit("    run: make\n    timeout: 5\n")) ==
        at + "timeout is only for agent: units; on a shell unit, limit the command itself (run: "
             "\"timeout 600 make\")");
  CHECK(error_of(with_unit("    run: make\n    idle_timeout: 5\n")) ==
        at + "idle_timeout is only for agent: units; drop it, or replace run: with agent: "
             "<profile>");
  CHECK(error_of(with_unit("    run: make\n    max_attempts: 2\n")) ==
        at + "max_attempts is only for agent: units; drop it, or replace run: with agent: "
             "<profile>");
  // A milestone's verify is for its agent units; shell units beside them are fine.
  CHECK(error_of(with_unit("    run: make\n", "verify: make test\n")).empty());
}

TEST_CASE("agent limits out of range are refused naming the field and the range",
          "[config][plan]") {
  const std::string at = "/r/M.md:10: milestone M001: slice S01, unit U1: slices[0].units[1].";
  for (std::string bad : {"0", "-1", "abc", "\"5\"", "1000001", ".inf"}) {
    CAPTURE(bad);
    auto quoted = bad == "\"5\"" ? std::string("\"5\"") : bad;
    CHECK(error_of(with_unit("    agent: a\n    timeout: " + bad + "\n")) ==
          at + "timeout: " + quoted +
              " is not allowed; allowed: a number of seconds greater than 0, at most 1000000");
    CHECK(error_of(with_unit("    agent: a\n    idle_timeout: " + bad + "\n")) ==
          at + "idle_timeout: " + quoted +
              " is not allowed; allowed: a number of seconds greater than 0, at most 1000000");
  }
  for (std::string bad : {"0", "21", "1.5", "two", "-3"}) {
    CAPTURE(bad);
    CHECK(error_of(with_unit("    agent: a\n    max_attempts: " + bad + "\n")) ==
          at + "max_attempts: " + bad + " is not allowed; allowed: an integer from 1 to 20");
  }
  CHECK(error_of(with_unit("    agent: a\n    max_attempts: 20\n    timeout: 1000000\n")).empty());
  CHECK(error_of(with_unit("    agent: a\n    prompt: [x]\n")) ==
        "/r/M.md:10: milestone M001: slice S01, unit U1: prompt is a list; it must be text");
  CHECK(error_of("title: T\nverify: {a: 1}\n") ==
        "/r/M.md:3: milestone M001: the front matter: verify is a map; it must be text");
}

TEST_CASE("check_agent_units finds units naming no profile, and names the fix", "[config][plan]") {
  auto p = plan_of(with_unit("    agent: claud\n"));
  const std::string at = "/r/M.md: milestone M001, unit U1: slices[0].units[1].agent: ";
  auto two = prefs_with("  profiles:\n    claude: {}\n    codex: {}\n");
  CHECK(sf::describe(sf::check_agent_units(p, two)) ==
        at + "there is no agent profile \"claud\"; add it under agents.profiles or use one of: "
             "claude, codex");
  CHECK(sf::describe(sf::check_agent_units(p, sf::preferences{})) ==
        at + "the preferences declare no agent profiles; add one under agents.profiles in "
             ".sf/PREFERENCES.md (e.g. \"claude: {adapter: claude}\")");
  auto by_default = plan_of(with_unit("    agent: default\n"));
  CHECK(sf::describe(sf::check_agent_units(by_default, sf::preferences{})) ==
        at + "the preferences declare no agent profiles; add one under agents.profiles in "
             ".sf/PREFERENCES.md (e.g. \"claude: {adapter: claude}\")");
  CHECK(sf::describe(sf::check_agent_units(by_default, two)) ==
        at + "there are several agent profiles and no agents.default; set agents.default to one "
             "of: claude, codex");
  // One profile is the default by itself; a named default works among several.
  CHECK_FALSE(sf::check_agent_units(by_default, prefs_with("  profiles:\n    claude: {}\n")));
  CHECK_FALSE(sf::check_agent_units(
      by_default, prefs_with("  default: codex\n  profiles:\n    claude: {}\n    codex: {}\n")));
  CHECK_FALSE(sf::check_agent_units(plan_of(with_unit("    agent: codex\n")), two));
  // Shell units need no profile at all.
  CHECK_FALSE(sf::check_agent_units(plan_of(with_unit("    run: make\n")), sf::preferences{}));
}

TEST_CASE("check_agent_units refuses a generic profile without a command", "[config][plan]") {
  auto p = plan_of(with_unit("    agent: mine\n"));
  CHECK(sf::describe(sf::check_agent_units(p, prefs_with("  profiles:\n    mine: {}\n"))) ==
        "/r/M.md: milestone M001, unit U1: slices[0].units[1].agent: profile \"mine\" uses the "
        "generic adapter, which needs a command; add agents.profiles.mine.command (e.g. "
        "[my-agent]) or set its adapter");
  CHECK_FALSE(
      sf::check_agent_units(p, prefs_with("  profiles:\n    mine: {command: [my-agent, --go]}\n")));
}
