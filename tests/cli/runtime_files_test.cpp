// Runtime files planted as a symbolic link, a FIFO or a folder: every command that meets one
// ends on its own within a deadline, exits non-zero, names the file in one line with the fix,
// and writes nothing through it (the link's target outside the project stays as it was).
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

using namespace sf::test;
using namespace std::chrono_literals;

namespace {

enum class plant { symlink, fifo, folder };

const char* plant_name(plant k) {
  switch (k) {
    case plant::symlink: return "symbolic link";
    case plant::fifo: return "FIFO";
    case plant::folder: return "folder";
  }
  return "?";
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  return out;
}

/// How one command ended: on its own (with a wait status) or killed at the deadline.
struct outcome {
  bool ended = false; ///< It exited before the deadline (else it was killed).
  int status = 0;     ///< waitpid status.
};

/// Runs the CLI with `args` in `p`, killing its process group when it outlives `limit`.
outcome run_with_deadline(test_project& p, const std::vector<std::string>& args,
                          std::chrono::milliseconds limit = 20s) {
  auto child = p.spawn_cli(args);
  outcome o;
  auto status = wait_exit(child, limit);
  if (status) {
    o.ended = true;
    o.status = *status;
  } else {
    (void) child.signal_group(SIGKILL);
    (void) wait_exit(child, 10s);
  }
  return o;
}

/// The line of `text` that names `path` and says it is not a regular file, or "".
std::string refusal_line(const std::string& text, const std::string& path) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find(path) != std::string::npos && line.find("not a regular file") != std::string::npos)
      return line;
  return {};
}

/// Plants `kind` at `rel` (relative to the root) in a fresh project, then runs start, status,
/// doctor and stop (plus `extra` commands) against it.
void check_planted(const std::string& rel, const std::vector<std::vector<std::string>>& extra = {}) {
  for (plant kind : {plant::symlink, plant::fifo, plant::folder}) {
    test_project p({ms("M001", {}, {{"U01", "echo done > u1.txt", {"u1.txt"}, -1}})},
                   "  enabled: true\n  auto_merge: auto\n  heartbeat_interval: 0.2\n"
                   "  stale_timeout: 2\n  stop_grace: 1\n");
    temp_dir outside;
    const std::string victim = outside / "victim.txt";
    write_file(victim, "the user's file outside the project\n");
    const std::string path = p.path(rel);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    switch (kind) {
      case plant::symlink: REQUIRE(::symlink(victim.c_str(), path.c_str()) == 0); break;
      case plant::fifo: REQUIRE(::mkfifo(path.c_str(), 0600) == 0); break;
      case plant::folder: REQUIRE(::mkdir(path.c_str(), 0700) == 0); break;
    }
    std::vector<std::vector<std::string>> commands = {
      {"start", "--yes"}, {"status"}, {"status", "--json"}, {"doctor"}, {"stop"}};
    commands.insert(commands.end(), extra.begin(), extra.end());
    int n = 0;
    for (const auto& args : commands) {
      std::string shown;
      for (const auto& a : args)
        shown += (shown.empty() ? "" : " ") + a;
      INFO("sf-actors " << shown << " with " << rel << " planted as a " << plant_name(kind));
      auto o = run_with_deadline(p, args);
      auto output = read_file(p.cli_log(++n));
      INFO("output:\n" << output);
      REQUIRE(o.ended); // it ended on its own, before the deadline
      CHECK(!(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0));
      CHECK(WIFEXITED(o.status));
      auto line = refusal_line(output, path);
      CHECK_FALSE(line.empty());
      CHECK(line.find("rm ") != std::string::npos); // the fix
      // Nothing went through the planted name.
      CHECK(read_file(victim) == "the user's file outside the project\n");
      CHECK(names_in(outside.path()) == std::vector<std::string>{"victim.txt"});
      struct stat st {};
      REQUIRE(::lstat(path.c_str(), &st) == 0);
      switch (kind) {
        case plant::symlink: CHECK(S_ISLNK(st.st_mode)); break;
        case plant::fifo: CHECK(S_ISFIFO(st.st_mode)); break;
        case plant::folder: CHECK(S_ISDIR(st.st_mode)); break;
      }
    }
    // No worker ever started for a run that was refused.
    CHECK_FALSE(std::filesystem::exists(p.path(".sf/worktrees/M001")));
  }
}

} // namespace

TEST_CASE("coordinator.log planted as a link, FIFO or folder is refused by every command",
          "[cli][runtime_files]") {
  check_planted(".sf/parallel/coordinator.log");
}

TEST_CASE("coordinator.lock planted as a link, FIFO or folder is refused by every command",
          "[cli][runtime_files]") {
  check_planted(".sf/parallel/coordinator.lock");
}

TEST_CASE("events.jsonl planted as a link, FIFO or folder is refused by every command",
          "[cli][runtime_files]") {
  check_planted(".sf/parallel/events.jsonl");
}

TEST_CASE("a worker log planted as a link, FIFO or folder is refused by every command",
          "[cli][runtime_files]") {
  check_planted(".sf/parallel/M001.log");
}

TEST_CASE("coordinator.out planted as a link, FIFO or folder is refused, also by start --detach",
          "[cli][runtime_files]") {
  check_planted(".sf/parallel/coordinator.out", {{"start", "--yes", "--detach"}});
}

TEST_CASE("ledger.json planted as a link, FIFO or folder is refused by every command",
          "[cli][runtime_files]") {
  check_planted(".sf/parallel/ledger.json");
}

TEST_CASE("the merge turn's lock and the push log planted as a link, FIFO or folder are refused",
          "[cli][runtime_files]") {
  check_planted(".sf/parallel/merge.lock", {{"merge"}});
  check_planted(".sf/parallel/push.log");
}

TEST_CASE("the worktree lock planted as a link, FIFO or folder is refused by every command",
          "[cli][runtime_files]") {
  check_planted(".sf/worktrees/.lock");
}

TEST_CASE("doctor --fix removes a planted link or FIFO but keeps a planted folder",
          "[cli][runtime_files][doctor]") {
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}})}, "  enabled: true\n");
  temp_dir outside;
  const std::string victim = outside / "victim.txt";
  write_file(victim, "keep\n");
  std::filesystem::create_directories(p.path(".sf/parallel"));
  REQUIRE(::symlink(victim.c_str(), p.path(".sf/parallel/coordinator.log").c_str()) == 0);
  REQUIRE(::mkfifo(p.path(".sf/parallel/events.jsonl").c_str(), 0600) == 0);
  REQUIRE(::mkdir(p.path(".sf/parallel/run.json").c_str(), 0700) == 0);
  write_file(p.path(".sf/parallel/run.json/someone's.txt"), "notes\n");
  auto o = run_with_deadline(p, {"doctor", "--fix"});
  auto output = read_file(p.cli_log(1));
  INFO(output);
  REQUIRE(o.ended);
  CHECK(WIFEXITED(o.status));
  CHECK(WEXITSTATUS(o.status) == 1); // the folder is kept
  struct stat st {};
  CHECK(::lstat(p.path(".sf/parallel/coordinator.log").c_str(), &st) != 0);
  CHECK(::lstat(p.path(".sf/parallel/events.jsonl").c_str(), &st) != 0);
  CHECK(read_file(p.path(".sf/parallel/run.json/someone's.txt")) == "notes\n");
  CHECK(read_file(victim) == "keep\n");
  CHECK_FALSE(refusal_line(output, p.path(".sf/parallel/run.json")).empty());
}
