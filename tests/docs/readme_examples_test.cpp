// The README's example session and its further examples, run as written (each `$` line as a
// shell command) on real projects; where the README shows output, the output must be that.
#include "docs/readme_blocks.hpp"
#include "support/gates.hpp"
#include "support/project.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines)
    out += l + "\n";
  return out;
}

// Runs a README command the way a person would type it, with sf-actors on PATH.
command_result typed(const std::string& cmd, const std::string& home, const std::string& cwd) {
  auto bin = std::filesystem::path(SF_CLI_PATH).parent_path().string();
  return run("export PATH=" + sh_quote(bin) + ":\"$PATH\" HOME=" + sh_quote(home) + "; " + cmd,
             cwd);
}

} // namespace

TEST_CASE("the README's example session runs as written and prints what it shows",
          "[readme]") {
  auto steps = readme_steps("Example session:");
  REQUIRE(steps.size() == 4);
  // The plan of the spec's example, as the README shows it.
  auto done = ms("M001", {}, {unit("U01", "true")});
  done.status = "complete";
  done.title = "Core Types";
  auto auth = ms("M002", {}, {unit("U01", hold("two"))});
  auth.title = "Auth System";
  auto dashboard = ms("M003", {}, {unit("U01", hold("three"))});
  dashboard.title = "Dashboard UI";
  test_project p({done, auth, dashboard},
                 "  enabled: true\n  max_workers: 2\n  stop_grace: 5\n");
  for (std::size_t i = 0; i < steps.size(); ++i) {
    auto r = typed(steps[i].command, p.root(), p.root());
    INFO(steps[i].command << "\n" << r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(without_pids(r.out) == without_pids(joined(steps[i].output)));
    if (i == 0) // What follows speaks to running workers.
      REQUIRE(wait_for(p.root(), [&] {
        return state_of(p.root(), "M002") == "running" && state_of(p.root(), "M003") == "running";
      }, 30s));
  }
  REQUIRE(wait_for(p.root(), [&] { return !event_lines(p.root(), "run finished").empty(); }, 30s));
  // run.json is written after the event log, by the same writer: wait for it, not a race.
  CHECK(wait_for(p.root(), [&] { return state_of(p.root(), "M002") == "stopped"; }, 30s));
}

TEST_CASE("the README's further examples run as written", "[readme]") {
  auto steps = readme_steps("More examples:");
  REQUIRE(steps.size() >= 8);
  temp_dir home;
  temp_dir remote;
  REQUIRE(run("git init -q --bare .", remote.path()).exit_code == 0);
  // A project at ~/src/app whose M003 is complete on its branch, waiting for `merge M003`.
  test_project p({ms("M003", {}, {unit("U01", "echo three > three.txt")})},
                 "  enabled: true\n  auto_merge: manual\n  push_remote: " + remote.path() + "\n");
  std::filesystem::create_directories(home / "src");
  std::filesystem::create_symlink(p.root(), home / "src/app");
  REQUIRE(typed("sf-actors start --yes", home.path(), p.root()).exit_code == 0);
  temp_dir fresh;
  init_git_repo(fresh.path());
  bool merged = false;
  for (const auto& step : steps) {
    if (step.command.find("--watch") != std::string::npos)
      continue; // It never ends by itself: tests/cli/terminal_session_test.cpp drives it.
    // `init` is shown on a new repository; the rest on the project.
    const bool new_repo = step.command.find(" init") != std::string::npos;
    auto r = typed(step.command, home.path(), new_repo ? fresh.path() : p.root());
    INFO(step.command << "\n" << r.out << r.err);
    CHECK(r.exit_code == 0);
    if (!step.output.empty())
      CHECK(r.out == joined(step.output));
    if (step.command.find("jq") != std::string::npos)
      CHECK(r.out == "\"M003\"\n");
    if (step.command.find("merge M003") != std::string::npos)
      merged = true;
  }
  CHECK(merged);
  CHECK(read_file(p.path("plan.dot")).find("digraph") != std::string::npos);
  CHECK(p.git("show main:three.txt") == "three\n");
  CHECK(run("git rev-parse main", remote.path()).out == p.git("rev-parse main"));
  CHECK(std::filesystem::exists(fresh / ".sf/PREFERENCES.md"));
}
