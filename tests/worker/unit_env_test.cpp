// What every unit is told: the variables with_unit_vars sets, and, end to end through `start`,
// the prompt file a shell unit reads, which no commit carries and which is gone after the run.
#include "config/escape.hpp"
#include "config/plan.hpp"
#include "config/unit_prompt.hpp"
#include "support/project.hpp"
#include "worker/unit_env.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

using namespace sf::test;

namespace {

std::size_t count_named(const std::vector<std::string>& env, const std::string& key) {
  return static_cast<std::size_t>(std::count_if(
      env.begin(), env.end(), [&](const std::string& e) { return e.rfind(key + "=", 0) == 0; }));
}

/// A shell command that writes what the unit sees into `env-<unit>.txt` in the worktree.
const char* report_env =
    "{ echo \"unit=$SF_UNIT_ID\"; echo \"slice=$SF_SLICE_ID\"; "
    "echo \"milestone_file=$SF_MILESTONE_FILE\"; echo \"prompt_file=$SF_PROMPT_FILE\"; "
    "echo \"prompt_set=${SF_PROMPT+yes}\"; echo \"prompt_bytes=$(printf %s \"$SF_PROMPT\" | wc "
    "-c)\"; "
    "echo \"file_bytes=$(wc -c < \"$SF_PROMPT_FILE\")\"; "
    "echo \"same=$(printf %s \"$SF_PROMPT\" | cmp -s - \"$SF_PROMPT_FILE\" && echo yes)\"; "
    "echo '--- file'; cat \"$SF_PROMPT_FILE\"; } > \"env-$SF_UNIT_ID.txt\"";

/// The prompt the worker builds for `unit` of the milestone at `path` (read back from disk).
std::string expected_prompt(const std::string& path, const std::string& mid,
                            const std::string& unit) {
  auto m = sf::load_milestone_file(path, mid);
  REQUIRE(m);
  for (const auto& s : m->slices)
    for (const auto& u : s.units)
      if (u.id == unit)
        return sf::build_prompt(*m, s, u);
  FAIL("no unit " << unit);
  return {};
}

} // namespace

TEST_CASE("with_unit_vars sets each variable once, replacing inherited ones", "[worker]") {
  std::vector<std::string> base{"PATH=/bin", "SF_UNIT_ID=old", "SF_PROMPT=old text",
                                "SF_PROMPT_FILE=/old"};
  auto env = sf::worker::with_unit_vars(base, {"U1", "S01", "/w/M.md", "/r/p.md", "hello"});
  CHECK(env == std::vector<std::string>{"PATH=/bin", "SF_UNIT_ID=U1", "SF_SLICE_ID=S01",
                                        "SF_MILESTONE_FILE=/w/M.md", "SF_PROMPT_FILE=/r/p.md",
                                        "SF_PROMPT=hello"});
  // At the limit the text is still passed; one byte more and only the file has it.
  std::string at_limit(sf::worker::max_prompt_env_bytes, 'x');
  auto fits = sf::worker::with_unit_vars(base, {"U1", "S01", "/w/M.md", "/r/p.md", at_limit});
  CHECK(std::find(fits.begin(), fits.end(), "SF_PROMPT=" + at_limit) != fits.end());
  auto big = sf::worker::with_unit_vars(base, {"U1", "S01", "/w/M.md", "/r/p.md", at_limit + "x"});
  CHECK(count_named(big, "SF_PROMPT") == 0);
  CHECK(count_named(big, "SF_PROMPT_FILE") == 1);
  CHECK(count_named(big, "SF_UNIT_ID") == 1);
  // A prompt file that could not be written is not named, nor is an inherited one.
  auto unwritten = sf::worker::with_unit_vars(base, {"U1", "S01", "/w/M.md", "", "hello"});
  CHECK(count_named(unwritten, "SF_PROMPT_FILE") == 0);
  CHECK(count_named(unwritten, "SF_PROMPT") == 1);
}

TEST_CASE("a shell unit gets its ids, the milestone file and its prompt, never committed",
          "[worker]") {
  test_project p({ms("M001", {}, {{"U1", report_env, {}, -1}, {"U2", report_env, {}, -1}}),
                  ms("M002", {}, {{"U9", report_env, {}, -1}})},
                 "  enabled: true\n  max_workers: 2\n  auto_merge: manual\n");
  // M002's text is over the 64 KiB that SF_PROMPT carries: only the file has it.
  auto m2 = p.path(".sf/milestones/M002/MILESTONE.md");
  auto text = read_file(m2);
  write_file(m2, text + std::string(70 * 1024, 'a') + "\n");
  p.git("commit -q -am 'long M002'");
  auto r = p.cli("start --yes");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(state_of(p.root(), "M001") == "complete");
  CHECK(state_of(p.root(), "M002") == "complete");
  const auto wt1 = p.path(".sf/worktrees/M001");
  const auto milestone_file = wt1 + "/.sf/milestones/M001/MILESTONE.md";
  const auto prompt_file = p.path(".sf/parallel/M001.prompt.md");
  for (std::string unit : {"U1", "U2"}) {
    CAPTURE(unit);
    auto prompt = expected_prompt(milestone_file, "M001", unit);
    CHECK(prompt.find("## Unit " + unit + ": Unit " + unit + "\n") != std::string::npos);
    CHECK(read_file(wt1 + "/env-" + unit + ".txt") ==
          "unit=" + unit + "\nslice=S01\nmilestone_file=" + milestone_file + "\nprompt_file=" +
              prompt_file + "\nprompt_set=yes\nprompt_bytes=" + std::to_string(prompt.size()) +
              "\nfile_bytes=" + std::to_string(prompt.size()) + "\nsame=yes\n--- file\n" + prompt);
  }
  const auto wt2 = p.path(".sf/worktrees/M002");
  auto long_prompt = expected_prompt(wt2 + "/.sf/milestones/M002/MILESTONE.md", "M002", "U9");
  REQUIRE(long_prompt.size() > sf::worker::max_prompt_env_bytes);
  auto seen = read_file(wt2 + "/env-U9.txt");
  CHECK(seen.find("\nprompt_set=\nprompt_bytes=0\nfile_bytes=" +
                  std::to_string(long_prompt.size()) + "\n") != std::string::npos);
  CHECK(seen.find("--- file\n" + long_prompt) != std::string::npos);
  // The units' reports are committed; no prompt file is, and none outlives its unit.
  auto committed = p.git("log --all --name-only --format=");
  CHECK(committed.find("env-U1.txt") != std::string::npos);
  CHECK(committed.find("prompt") == std::string::npos);
  CHECK_FALSE(std::filesystem::exists(prompt_file));
  CHECK_FALSE(std::filesystem::exists(p.path(".sf/parallel/M002.prompt.md")));
}

TEST_CASE("start and eligibility refuse an agent unit naming no profile, before anything runs",
          "[worker]") {
  test_project p({ms("M001", {}, {{"U1", "true", {}, -1}})}, "  enabled: true\n");
  write_file(p.path(".sf/milestones/M001/MILESTONE.md"),
             "---\ntitle: T\nslices:\n  - id: S01\n    units:\n      - id: U1\n"
             "        agent: claud\n---\n");
  write_file(p.path(".sf/PREFERENCES.md"),
             "---\nparallel:\n  enabled: true\nagents:\n  profiles:\n    claude: {}\n---\n");
  p.git("commit -q -am 'agent unit'");
  const std::string line = "sf-actors: " + p.path(".sf/milestones/M001/MILESTONE.md") +
                           ": milestone M001, unit U1: slices[0].units[0].agent: there is no "
                           "agent profile \"claud\"; add it under agents.profiles or use one "
                           "of: claude\n";
  auto started = p.cli("start --yes");
  CHECK(started.exit_code == 1);
  CHECK(started.err == line);
  CHECK(event_lines(p.root(), "\"starting\"").empty());
  CHECK_FALSE(std::filesystem::exists(p.path(".sf/worktrees/M001")));
  auto report = p.cli("eligibility");
  CHECK(report.exit_code == 1);
  CHECK(report.err == line);
}

TEST_CASE("the coordinator removes the prompt file a killed worker left", "[worker]") {
  temp_dir gate_dir;
  const auto gate = gate_dir / "go";
  REQUIRE(::mkfifo(gate.c_str(), 0600) == 0);
  // The unit blocks on the gate, which nobody opens: only the cleanup ends it.
  test_project p({ms("M001", {}, {{"U1", "read go < '" + gate + "'", {}, -1}})},
                 "  enabled: true\n  heartbeat_interval: 0.2\n  max_restarts: 0\n");
  auto cli = p.spawn_cli({"start", "--yes"});
  const auto prompt_file = p.path(".sf/parallel/M001.prompt.md");
  REQUIRE(wait_for(
      p.root(),
      [&] {
        auto s = status_of(p.root(), "M001");
        return s && s->unit && std::filesystem::exists(prompt_file);
      },
      std::chrono::seconds(20)));
  auto worker = status_of(p.root(), "M001")->pid;
  REQUIRE(::kill(static_cast<pid_t>(worker), SIGKILL) == 0);
  REQUIRE(wait_for(
      p.root(), [&] { return !std::filesystem::exists(prompt_file); }, std::chrono::seconds(20)));
  auto status = wait_exit(cli, std::chrono::seconds(30));
  REQUIRE(status);
  CHECK(state_of(p.root(), "M001") == "failed");
}
