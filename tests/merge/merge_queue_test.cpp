// The merge queue end to end: real repositories, the real CLI and the reference worker; git
// state is checked with the git CLI, never through our own libgit2 code.
#include "docs/json_schema.hpp"
#include "io/git/merge_step.hpp"
#include "support/gates.hpp"
#include "support/project.hpp"
#include "support/queue_run.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {


// Twenty numbered lines: edits two or more lines apart merge cleanly, the same line conflicts.
std::string numbered_lines() {
  std::string out;
  for (int i = 1; i <= 20; ++i)
    out += "line " + std::string(i < 10 ? "0" : "") + std::to_string(i) + "\n";
  return out;
}

std::string line_name(int n) {
  return "line " + std::string(n < 10 ? "0" : "") + std::to_string(n);
}

// A unit command that rewrites line `n` of shared.txt to say who changed it.
std::string edit_line(int n, const std::string& who) {
  return "sed -i 's/^" + line_name(n) + "$/" + line_name(n) + " by " + who + "/' shared.txt";
}

// Adds a file to main in the root checkout.
void commit_file(const test_project& p, const std::string& rel, const std::string& text) {
  write_file(p.path(rel), text);
  p.git("add -- " + sh_quote(rel));
  p.git("commit -q -m " + sh_quote("add " + rel));
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

std::string main_oid(const test_project& p) {
  auto out = p.git("rev-parse main");
  return out.substr(0, out.find('\n'));
}

std::string show(const test_project& p, const std::string& rev_path) {
  return p.git("show " + sh_quote(rev_path));
}

bool any_event(const std::string& root, const std::string& needle) {
  return !event_lines(root, needle).empty();
}

std::string prefs(const std::string& extra) {
  return "  enabled: true\n  max_workers: 2\n" + extra;
}

// Units recorded for `mid` in a metrics.json text.
std::size_t recorded_units(const std::string& metrics, const std::string& mid) {
  auto j = nlohmann::json::parse(metrics, nullptr, false);
  if (!j.is_object() || !j.contains("milestones") || !j["milestones"].contains(mid))
    return 0;
  return j["milestones"][mid].value("units", nlohmann::json::array()).size();
}

// Tracked files modified in the root checkout (runtime files are ignored or untracked).
std::string tracked_changes(const test_project& p) {
  return p.git("status --porcelain --untracked-files=no");
}

} // namespace

TEST_CASE("merge queue: a five-milestone plan runs to the end with every merge on main",
          "[mergequeue]") {
  auto m1 = ms("M001", {}, {unit("U01", "true")});
  m1.status = "complete";
  test_project p({m1,
                  ms("M002", {}, {unit("U01", edit_line(3, "M002"))}),
                  ms("M003", {}, {unit("U01", edit_line(17, "M003"))}),
                  // Fails unless M002's merged work is in the worktree it starts from.
                  ms("M004", {"M002"},
                     {unit("U01", "grep -q 'line 03 by M002' shared.txt && echo four > m4.txt")}),
                  ms("M005", {"M004"},
                     {unit("U01", "test -f m4.txt && echo five > m5.txt"),
                      unit("U02", "echo more >> m5.txt")})},
                 prefs("  auto_merge: auto\n"));
  commit_file(p, "shared.txt", numbered_lines());
  auto r = start_to_end(p);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  auto shared = show(p, "main:shared.txt");
  CHECK(contains(shared, "line 03 by M002\n"));
  CHECK(contains(shared, "line 17 by M003\n"));
  CHECK(show(p, "main:m4.txt") == "four\n");
  CHECK(show(p, "main:m5.txt") == "five\nmore\n");
  // The root checkout follows main.
  CHECK(read_file(p.path("shared.txt")) == shared);
  CHECK(read_file(p.path("m5.txt")) == "five\nmore\n");
  // Dependents start only once their dependency's merge is on main.
  auto m2_merged = event_index(p.root(), "M002", "merged");
  auto m4_start = event_index(p.root(), "M004", "starting");
  auto m4_merged = event_index(p.root(), "M004", "merged");
  auto m5_start = event_index(p.root(), "M005", "starting");
  REQUIRE(m2_merged >= 0);
  REQUIRE(m4_merged >= 0);
  CHECK(m4_start > m2_merged);
  CHECK(m5_start > m4_merged);
  CHECK(event_time(p.root(), "M004", "starting") >= event_time(p.root(), "M002", "merged"));
  CHECK(event_time(p.root(), "M005", "starting") >= event_time(p.root(), "M004", "merged"));
  for (std::string mid : {"M001", "M002", "M003", "M004", "M005"})
    CHECK(contains(show(p, "main:.sf/milestones/" + mid + "/MILESTONE.md"), "status: complete"));
  auto metrics = show(p, "main:.sf/metrics.json");
  CHECK(recorded_units(metrics, "M002") == 1);
  CHECK(recorded_units(metrics, "M003") == 1);
  CHECK(recorded_units(metrics, "M004") == 1);
  CHECK(recorded_units(metrics, "M005") == 2);
  auto merges = merges_on_main(p);
  CHECK(merges.size() == 4);
  CHECK(tracked_changes(p).empty());
}

TEST_CASE("merge queue: a code conflict halts, the user resolves it and merges again",
          "[mergequeue]") {
  test_project p({ms("M002", {}, {unit("U01", edit_line(10, "M002"))}),
                  ms("M003", {}, {unit("U01", edit_line(10, "M003"))}),
                  ms("M004", {}, {unit("U01", "echo four > m4.txt")})},
                 prefs("  auto_merge: auto\n"));
  commit_file(p, "shared.txt", numbered_lines());
  auto r = start_to_end(p);
  INFO(r.output);
  CHECK(r.exit_code == 5);
  CHECK(contains(r.output, "CONFLICT (1 file(s))"));
  auto conflict = event_lines(p.root(), "CONFLICT (1 file(s))");
  REQUIRE(conflict.size() == 1);
  CHECK(contains(conflict[0], "shared.txt"));
  CHECK(contains(conflict[0], "sf-actors merge M003"));
  // What waits behind the conflict says so, and the run does not wait for it.
  CHECK(contains(r.output, "[M004] complete: waits behind M003 (conflict)"));
  CHECK(contains(status_row(p, "M004").value("note", ""), "waits behind M003 (conflict)"));
  auto all = p.cli("merge");
  CHECK(all.exit_code == 5);
  CHECK(contains(all.out, "- **M004** — waiting: waits behind M003 (conflict)"));
  // Sequential order: M002 merged, M003 halted; main has one merge and no markers.
  auto merges = merges_on_main(p);
  REQUIRE(merges.size() == 1);
  CHECK(starts_with(merges[0], "Merge milestone M002"));
  auto shared = show(p, "main:shared.txt");
  CHECK(contains(shared, "line 10 by M002\n"));
  CHECK_FALSE(contains(shared, "<<<<<<<"));
  CHECK_FALSE(contains(read_file(p.path("shared.txt")), "<<<<<<<"));
  CHECK_FALSE(p.git("branch --list milestone/M003").empty());
  auto wt = p.path(".sf/worktrees/M003");
  REQUIRE(std::filesystem::is_directory(wt));
  // What `merge` without a coordinator says before the fix.
  auto before = p.cli("merge M003");
  CHECK(before.exit_code == 5);
  CHECK(contains(before.out, "- **M003** — CONFLICT (1 file(s)):\n  - `shared.txt`\n"));
  CHECK(contains(before.out, "Resolve conflicts manually and run `sf-actors merge M003`"));
  // The user resolves in the milestone's worktree.
  auto merged_main = run("git merge -q main", wt);
  CHECK(merged_main.exit_code != 0);
  auto resolved = numbered_lines();
  resolved.replace(resolved.find("line 10\n"), 8, "line 10 by M002 and M003\n");
  write_file(wt + "/shared.txt", resolved);
  // Only the code conflicts: the .sf/ files were merged by the driver `start` registered.
  CHECK(run("git diff --name-only --diff-filter=U", wt).out == "shared.txt\n");
  auto fix = run("git add -A && git commit -q --no-edit", wt);
  REQUIRE(fix.exit_code == 0);
  auto again = p.cli("merge M003");
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  CHECK(contains(again.out, "# Merge Results"));
  CHECK(contains(again.out, "- **M003** — merged successfully"));
  CHECK(show(p, "main:shared.txt") == resolved);
  CHECK(read_file(p.path("shared.txt")) == resolved);
  auto metrics = show(p, "main:.sf/metrics.json");
  CHECK(recorded_units(metrics, "M002") == 1);
  CHECK(recorded_units(metrics, "M003") == 1);
  auto twice = p.cli("merge M003");
  CHECK(twice.exit_code == 0);
  CHECK(contains(twice.out, "- **M003** — already merged"));
  CHECK(merges_on_main(p).size() == 2);
}

TEST_CASE("merge queue: .sf/ state edited on both branches merges without conflict",
          "[mergequeue]") {
  test_project p(
    {ms("M002", {}, {unit("U01", "sed -i 's/^M002: pending$/M002: done/; s/^current: none$/"
                                 "current: M002/' .sf/STATE.md"),
                     unit("U02", "echo two > m2.txt")}),
     ms("M003", {}, {unit("U01", "sed -i 's/^M003: pending$/M003: done/; s/^current: none$/"
                                 "current: M003/' .sf/STATE.md")})},
    prefs("  auto_merge: auto\n"));
  commit_file(p, ".sf/STATE.md",
              "# State\n\ncurrent: none\n\nM002: pending\n\n\nM003: pending\n");
  auto r = start_to_end(p);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  auto merges = merges_on_main(p);
  REQUIRE(merges.size() == 2);
  CHECK_FALSE(any_event(p.root(), "CONFLICT"));
  auto state = show(p, "main:.sf/STATE.md");
  // Separate lines from both milestones survive; the line both changed takes the side of the
  // branch merged last (state files follow the milestone branch).
  CHECK(contains(state, "M002: done\n"));
  CHECK(contains(state, "M003: done\n"));
  CHECK(contains(state, "current: M003\n"));
  auto metrics = show(p, "main:.sf/metrics.json");
  CHECK(recorded_units(metrics, "M002") == 2);
  CHECK(recorded_units(metrics, "M003") == 1);
  CHECK(contains(show(p, "main:.sf/milestones/M002/MILESTONE.md"), "status: complete"));
  CHECK(contains(show(p, "main:.sf/milestones/M003/MILESTONE.md"), "status: complete"));
}

TEST_CASE("merge queue: sequential order waits for a lower id, by-completion does not",
          "[mergequeue]") {
  SECTION("sequential") {
    test_project p({ms("M002", {}, {unit("U01", hold("M002") + " && echo two > m2.txt")}),
                    ms("M003", {}, {unit("U01", "echo three > m3.txt")})},
                   prefs("  auto_merge: auto\n  merge_order: sequential\n"));
    auto child = p.spawn_cli({"start", "--yes"});
    // M003 is done first and waits in the queue behind the still running M002.
    REQUIRE(wait_for(p.root(), [&] {
      auto row = status_row(p, "M003");
      return row.is_object() && row.value("state", "") == "complete" &&
             contains(row.value("note", ""), "waits for M002");
    }, 20s));
    CHECK(merges_on_main(p).empty());
    release(p, "M002");
    auto r = finish(p, child, 1);
    INFO(r.output);
    CHECK(r.exit_code == 0);
    auto merges = merges_on_main(p);
    REQUIRE(merges.size() == 2);
    CHECK(starts_with(merges[0], "Merge milestone M002"));
    CHECK(starts_with(merges[1], "Merge milestone M003"));
    CHECK(event_index(p.root(), "M003", "complete") < event_index(p.root(), "M002", "complete"));
  }
  SECTION("by-completion") {
    test_project p({ms("M002", {}, {unit("U01", hold("M002") + " && echo two > m2.txt")}),
                    ms("M003", {}, {unit("U01", "echo three > m3.txt")})},
                   prefs("  auto_merge: auto\n  merge_order: by-completion\n"));
    auto child = p.spawn_cli({"start", "--yes"});
    REQUIRE(wait_for(p.root(), [&] { return event_index(p.root(), "M003", "merged") >= 0; },
                     20s));
    release(p, "M002");
    auto r = finish(p, child, 1);
    INFO(r.output);
    CHECK(r.exit_code == 0);
    auto merges = merges_on_main(p);
    REQUIRE(merges.size() == 2);
    CHECK(starts_with(merges[0], "Merge milestone M003"));
    CHECK(starts_with(merges[1], "Merge milestone M002"));
  }
}

TEST_CASE("merge queue: per-slice merges a finished slice while the milestone still runs",
          "[mergequeue]") {
  test_project p({}, prefs("  auto_merge: auto\n  merge_strategy: per-slice\n"));
  commit_file(p, ".sf/milestones/M002/MILESTONE.md",
              "---\ntitle: Two slices\nstatus: pending\ndependsOn: []\nslices:\n"
              "  - id: S01\n    title: First\n    units:\n"
              "      - id: U01\n        title: One\n        run: 'echo one > s1.txt'\n"
              "  - id: S02\n    title: Second\n    units:\n"
              "      - id: U02\n        title: Two\n        run: '" +
                hold("S02") + " && echo two > s2.txt'\n---\n\nTwo slices.\n");
  auto child = p.spawn_cli({"start", "--yes"});
  // Slice one reaches main while slice two's unit is still held.
  REQUIRE(wait_for(p.root(), [&] {
    auto merges = merges_on_main(p);
    return !merges.empty() && starts_with(merges[0], "Merge slice S01");
  }, 20s));
  CHECK(show(p, "main:s1.txt") == "one\n");
  CHECK(p.git("ls-tree --name-only main s2.txt").empty());
  CHECK(contains(show(p, "main:.sf/milestones/M002/MILESTONE.md"), "status: pending"));
  CHECK(event_index(p.root(), "M002", "complete") == -1);
  release(p, "S02");
  auto r = finish(p, child, 1);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  auto merges = merges_on_main(p);
  REQUIRE(merges.size() == 2);
  CHECK(starts_with(merges[1], "Merge milestone M002"));
  CHECK(show(p, "main:s2.txt") == "two\n");
  CHECK(contains(show(p, "main:.sf/milestones/M002/MILESTONE.md"), "status: complete"));
}

TEST_CASE("merge queue: confirm without a terminal and manual leave main alone until merge",
          "[mergequeue]") {
  auto mode = GENERATE(std::string("confirm"), std::string("manual"));
  INFO("auto_merge: " << mode);
  test_project p({ms("M002", {}, {unit("U01", "echo two > m2.txt")})},
                 prefs("  auto_merge: " + mode + "\n"));
  auto before = main_oid(p);
  auto r = start_to_end(p);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(main_oid(p) == before);
  CHECK(contains(r.output, "sf-actors merge M002"));
  auto told = event_lines(p.root(), "sf-actors merge M002");
  REQUIRE_FALSE(told.empty());
  CHECK(contains(told[0], mode == "manual" ? "auto_merge is manual" : "awaiting your confirmation"));
  auto row = status_row(p, "M002");
  REQUIRE(row.is_object());
  CHECK(row.value("state", "") == "complete");
  auto m = p.cli("merge");
  INFO(m.out << m.err);
  CHECK(m.exit_code == 0);
  CHECK(contains(m.out, "- **M002** — merged successfully"));
  CHECK(main_oid(p) != before);
  CHECK(show(p, "main:m2.txt") == "two\n");
  CHECK(read_file(p.path("m2.txt")) == "two\n");
}

TEST_CASE("merge queue: uncommitted changes in the root checkout are never overwritten",
          "[mergequeue]") {
  test_project p({ms("M002", {}, {unit("U01", edit_line(3, "M002"))})},
                 prefs("  auto_merge: auto\n"));
  commit_file(p, "shared.txt", numbered_lines());
  commit_file(p, "notes.txt", "notes\n");
  // The user edits the file M002 changes, far from M002's line, and leaves it uncommitted,
  // and has an unrelated edit besides.
  auto mine = numbered_lines();
  mine.replace(mine.find("line 18\n"), 8, "line 18 by the user\n");
  write_file(p.path("shared.txt"), mine);
  write_file(p.path("notes.txt"), "notes\nnot committed\n");
  auto before = main_oid(p);
  auto child = p.spawn_cli({"start", "--yes"});
  // The run waits for the user instead of ending or overwriting.
  REQUIRE(wait_for(p.root(), [&] { return any_event(p.root(), "uncommitted changes"); }, 20s));
  CHECK(main_oid(p) == before);
  CHECK(read_file(p.path("shared.txt")) == mine);
  auto refused = event_lines(p.root(), "uncommitted changes");
  CHECK(contains(refused[0], "shared.txt"));
  CHECK(contains(refused[0], "goes on by itself"));
  auto row = status_row(p, "M002");
  REQUIRE(row.is_object());
  CHECK(contains(row.value("note", ""), "uncommitted changes"));
  // An explicit merge meanwhile says why, and changes nothing either.
  auto direct = p.cli("merge M002");
  CHECK(direct.exit_code == 1);
  CHECK(contains(direct.out, "uncommitted changes"));
  CHECK(contains(direct.out, "- `shared.txt`"));
  CHECK(read_file(p.path("shared.txt")) == mine);
  CHECK(main_oid(p) == before);
  // Committed, the user's line merges with M002's by itself; the unrelated edit stays.
  p.git("commit -q -m 'my edit' -- shared.txt");
  auto r = finish(p, child, 1);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  auto shared = read_file(p.path("shared.txt"));
  CHECK(contains(shared, "line 03 by M002\n"));
  CHECK(contains(shared, "line 18 by the user\n"));
  CHECK(show(p, "main:shared.txt") == shared);
  CHECK(read_file(p.path("notes.txt")) == "notes\nnot committed\n");
  CHECK(tracked_changes(p) == " M notes.txt\n");
  CHECK(merges_on_main(p).size() == 1);
}

TEST_CASE("merge queue: without a coordinator, merge reports what is in the way and exits 1",
          "[mergequeue]") {
  test_project p({ms("M002", {}, {unit("U01", edit_line(3, "M002"))})},
                 prefs("  auto_merge: manual\n"));
  commit_file(p, "shared.txt", numbered_lines());
  auto r = start_to_end(p);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto mine = numbered_lines();
  mine.replace(mine.find("line 18\n"), 8, "line 18 by the user\n");
  write_file(p.path("shared.txt"), mine);
  auto before = main_oid(p);
  auto direct = p.cli("merge M002");
  CHECK(direct.exit_code == 1);
  CHECK(contains(direct.out, "uncommitted changes"));
  CHECK(contains(direct.out, "then run `sf-actors merge M002`"));
  CHECK(main_oid(p) == before);
  CHECK(read_file(p.path("shared.txt")) == mine);
  p.git("stash -q");
  auto m = p.cli("merge M002");
  INFO(m.out << m.err);
  CHECK(m.exit_code == 0);
  CHECK(contains(m.out, "- **M002** — merged successfully"));
  p.git("stash pop -q");
  auto shared = read_file(p.path("shared.txt"));
  CHECK(contains(shared, "line 03 by M002\n"));
  CHECK(contains(shared, "line 18 by the user\n"));
}

TEST_CASE("merge queue: a commit the user makes on main during the run is kept",
          "[mergequeue]") {
  test_project p({ms("M002", {}, {unit("U01", "echo two > m2.txt"),
                                  unit("U02", hold("M002") + " && echo more >> m2.txt")})},
                 prefs("  auto_merge: auto\n"));
  auto child = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] {
    auto row = status_row(p, "M002");
    return row.is_object() && row.value("currentUnit", nlohmann::json()).is_string() &&
           row.value("completedUnits", 0) == 1;
  }, 20s));
  commit_file(p, "user.txt", "mine\n");
  auto user_commit = main_oid(p);
  release(p, "M002");
  auto r = finish(p, child, 1);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(run("git merge-base --is-ancestor " + user_commit + " main", p.root()).exit_code == 0);
  auto merges = merges_on_main(p);
  REQUIRE(merges.size() == 1);
  CHECK(starts_with(merges[0], "Merge milestone M002"));
  CHECK(show(p, "main:user.txt") == "mine\n");
  CHECK(show(p, "main:m2.txt") == "two\nmore\n");
  // The merge's first parent is the user's commit.
  CHECK(p.git("rev-parse main^1") == user_commit + "\n");
}

TEST_CASE("merge queue: push_remote receives main after the merge", "[mergequeue]") {
  temp_dir bare;
  REQUIRE(run("git init -q --bare .", bare.path()).exit_code == 0);
  test_project p({ms("M002", {}, {unit("U01", "echo two > m2.txt")})},
                 prefs("  auto_merge: auto\n  push_remote: " + bare.path() + "\n"));
  auto r = start_to_end(p);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.output, "pushed main to '" + bare.path() + "'"));
  CHECK(any_event(p.root(), "pushed main to"));
  auto remote = run("git rev-parse main", bare.path());
  REQUIRE(remote.exit_code == 0);
  CHECK(remote.out == main_oid(p) + "\n");
  CHECK(merges_on_main(p).size() == 1);
}

namespace {

/// A TCP listener on loopback that accepts and never answers: a git:// remote that hangs.
struct silent_remote {
  silent_remote() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
         ::listen(fd, 8) == 0 &&
         ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    url = "git://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/repo.git";
  }
  ~silent_remote() {
    if (fd >= 0)
      ::close(fd);
  }
  int fd = -1;
  bool ok = false;
  std::string url;
};

// Live git processes whose working folder is `root` (a push is `git push` there).
bool git_running_in(const std::string& root) {
  return run("for p in /proc/[0-9]*; do [ \"$(readlink $p/cwd)\" = " + sh_quote(root) +
               " ] && grep -q '^git' $p/comm 2>/dev/null && exit 0; done; exit 1",
             "/")
           .exit_code == 0;
}

} // namespace

TEST_CASE("merge queue: a push that never answers holds neither the queue nor the run",
          "[mergequeue]") {
  silent_remote remote;
  REQUIRE(remote.ok);
  test_project p({ms("M002", {}, {unit("U01", "echo two > m2.txt")}),
                  ms("M003", {}, {unit("U01", "echo three > m3.txt")})},
                 prefs("  auto_merge: auto\n  push_remote: " + remote.url +
                       "\n  push_timeout: 1\n"));
  auto r = start_to_end(p);
  INFO(r.output);
  // Both merged while the push hung; the push was ended at its timeout and reported.
  CHECK(merges_on_main(p).size() == 2);
  CHECK(any_event(p.root(), "did not end within 1 s (push_timeout)"));
  CHECK(contains(r.output, "push_timeout"));
  CHECK(r.exit_code == 8); // Merged, not pushed: a failed push has its own exit code.
  CHECK_FALSE(git_running_in(p.root()));
}

TEST_CASE("merge queue: stop ends a run whose push hangs, and the push with it",
          "[mergequeue]") {
  silent_remote remote;
  REQUIRE(remote.ok);
  test_project p({ms("M002", {}, {unit("U01", "echo two > m2.txt")})},
                 prefs("  auto_merge: auto\n  stop_grace: 1\n  push_remote: " + remote.url +
                       "\n  push_timeout: 600\n"));
  auto child = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] { return any_event(p.root(), "pushing main to"); }, 20s));
  CHECK(merges_on_main(p).size() == 1);
  auto stop = p.cli("stop");
  INFO(stop.out << stop.err);
  CHECK(stop.exit_code == 0);
  // Well within the push's own 600 s: the coordinator ends the push when the run ends.
  auto r = finish(p, child, 1);
  INFO(r.output);
  CHECK(any_event(p.root(), "was stopped because the run ended"));
  CHECK_FALSE(git_running_in(p.root()));
}

TEST_CASE("merge queue: Ctrl-C during git's check of the checkout ends the merge as interrupted",
          "[mergequeue]") {
  test_project p({ms("M002", {}, {unit("U01", "echo two > m2.txt")})},
                 prefs("  auto_merge: manual\n"));
  // A file behind a filter that is slow only once the test asks (the worker's commits must not
  // wait), and says when git has started running it.
  commit_file(p, ".gitattributes", "slow.dat filter=slow\n");
  commit_file(p, "slow.dat", "data\n");
  auto r = start_to_end(p);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string marker = p.path("filter-started");
  const std::string slow_on = p.path("slow-on");
  p.git("config filter.slow.clean " +
        sh_quote("sh -c 'if [ -e " + slow_on + " ]; then : > " + marker +
                 "; sleep 30; fi; cat'"));
  write_file(slow_on, "");
  // A new mtime makes git's refresh run the filter on it.
  REQUIRE(::utimensat(AT_FDCWD, p.path("slow.dat").c_str(), nullptr, 0) == 0);
  auto before = main_oid(p);
  auto child = p.spawn_cli({"merge", "M002"});
  REQUIRE(wait_for(p.root(), [&] { return std::filesystem::exists(marker); }, 20s));
  REQUIRE_FALSE(child.signal(SIGINT));
  auto status = wait_exit(child, 10s);
  REQUIRE(status);
  auto output = read_file(p.cli_log(2));
  INFO(output);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 130);
  CHECK(contains(output, "not merged"));
  CHECK(contains(output, "interrupted"));
  CHECK(main_oid(p) == before);
  CHECK_FALSE(std::filesystem::exists(p.path(".git/index.lock")));
  ::unlink(slow_on.c_str());
  // Nothing was lost: the merge goes through once it is run again.
  auto again = p.cli("merge M002");
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  CHECK(merges_on_main(p).size() == 1);
}

TEST_CASE("merge queue: merge --dry-run predicts a conflict between two branches",
          "[mergequeue]") {
  test_project p({ms("M002", {}, {unit("U01", edit_line(10, "M002"))}),
                  ms("M003", {}, {unit("U01", edit_line(10, "M003"))})},
                 prefs("  auto_merge: manual\n"));
  commit_file(p, "shared.txt", numbered_lines());
  auto r = start_to_end(p);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto before = main_oid(p);
  auto shared_before = read_file(p.path("shared.txt"));
  auto dry = p.cli("merge --dry-run");
  INFO(dry.out << dry.err);
  CHECK(dry.exit_code == 5); // A predicted conflict, as a real one.
  CHECK(contains(dry.out, "# Merge Results"));
  CHECK(contains(dry.out, "- **M002** — would merge cleanly"));
  CHECK(contains(dry.out, "- **M003** — would merge cleanly"));
  CHECK(contains(dry.out, "would conflict with M003"));
  CHECK(contains(dry.out, "`shared.txt`"));
  CHECK(main_oid(p) == before);
  CHECK(read_file(p.path("shared.txt")) == shared_before);
  CHECK(std::filesystem::is_directory(p.path(".sf/worktrees/M002")));
  CHECK(std::filesystem::is_directory(p.path(".sf/worktrees/M003")));
  CHECK(tracked_changes(p).empty());
  // The same prediction for scripts, then the real merges: both shapes are merge-output's.
  auto dry_json = nlohmann::json::parse(p.cli("merge --dry-run --json").out, nullptr, false);
  check_valid("merge-output", dry_json);
  CHECK(contains(dry_json.dump(), "\"would_conflict\""));
  CHECK(main_oid(p) == before);
  auto merged = p.cli("merge --json");
  INFO(merged.out << merged.err);
  auto merged_json = nlohmann::json::parse(merged.out, nullptr, false);
  check_valid("merge-output", merged_json);
  REQUIRE(merged_json["results"].size() == 2);
  CHECK(merged_json["results"][0]["result"] == "merged");
  CHECK(merged_json["results"][1]["result"] == "conflict");
  CHECK(merged_json["exitCode"] == merged.exit_code);
}

TEST_CASE("merge queue: merge while a coordinator runs goes through its queue",
          "[mergequeue]") {
  test_project p({ms("M002", {}, {unit("U01", "echo two > m2.txt")}),
                  ms("M003", {}, {unit("U01", hold("M003") + " && echo three > m3.txt")})},
                 prefs("  auto_merge: manual\n"));
  auto started = p.cli("start --yes --detach");
  REQUIRE(started.exit_code == 0);
  REQUIRE(wait_for(p.root(), [&] {
    auto row = status_row(p, "M002");
    return row.is_object() && row.value("state", "") == "complete";
  }, 20s));
  auto before = main_oid(p);
  // The queue's answer comes back typed: JSON for scripts, the report's text for people.
  auto dry = p.cli("merge M002 --dry-run --json");
  INFO(dry.out << dry.err);
  CHECK(dry.exit_code == 0);
  auto predicted = nlohmann::json::parse(dry.out, nullptr, false);
  REQUIRE(predicted.is_object());
  check_valid("merge-output", predicted);
  REQUIRE(predicted["results"].size() == 1);
  CHECK(predicted["results"][0]["milestoneId"] == "M002");
  CHECK(predicted["results"][0]["result"] == "would_merge");
  CHECK(predicted["exitCode"] == 0);
  // All of them: M003 still runs (nothing on its branch yet) and is said to be incomplete.
  auto all = p.cli("merge --dry-run");
  INFO(all.out << all.err);
  CHECK(all.exit_code == 0);
  CHECK(contains(all.out, "- **M002** — would merge cleanly\n"));
  CHECK(contains(all.out, "- **M003** — would merge cleanly\n  note: incomplete"));
  CHECK(main_oid(p) == before);
  auto m = p.cli("merge M002");
  INFO(m.out << m.err);
  CHECK(m.exit_code == 0);
  CHECK(contains(m.out, "# Merge Results\n"));
  CHECK(contains(m.out, "- **M002** — merged successfully"));
  CHECK(main_oid(p) != before);
  CHECK(show(p, "main:m2.txt") == "two\n");
  // Only the coordinator writes events: the merge went through its queue.
  CHECK(event_index(p.root(), "M002", "merged") >= 0);
  release(p, "M003");
  REQUIRE(wait_for(p.root(), [&] {
    auto j = p.cli("status --json");
    return contains(j.out, "\"running\": false");
  }, 30s));
  CHECK(status_row(p, "M003").value("state", "") == "complete");
  CHECK(merges_on_main(p).size() == 1);
}

TEST_CASE("merge queue: merge --dry-run with a coordinator covers running branches and pairs",
          "[mergequeue]") {
  // M003 commits its edit in its first unit, then holds in the second: its branch has work,
  // its worker has not finished.
  test_project p({ms("M002", {}, {unit("U01", edit_line(10, "M002"))}),
                  ms("M003", {}, {unit("U01", edit_line(10, "M003")), unit("U02", hold("M003"))})},
                 prefs("  auto_merge: manual\n"));
  commit_file(p, "shared.txt", numbered_lines());
  auto started = p.cli("start --yes --detach");
  REQUIRE(started.exit_code == 0);
  REQUIRE(wait_for(p.root(), [&] {
    return status_row(p, "M002").value("state", "") == "complete" &&
           status_row(p, "M003").value("completedUnits", 0) == 1;
  }, 30s));
  auto before = main_oid(p);
  auto dry = p.cli("merge --dry-run --json");
  INFO(dry.out << dry.err);
  CHECK(dry.exit_code == 5);
  auto j = nlohmann::json::parse(dry.out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["exitCode"] == 5);
  bool pair = false, running = false;
  for (const auto& x : j["results"]) {
    if (x["result"] == "would_conflict" && x["milestoneId"] == "M002" &&
        contains(x["text"].get<std::string>(), "M003"))
      pair = true;
    if (x["milestoneId"] == "M003" && x["result"] == "would_merge" &&
        contains(x["notes"].get<std::string>(), "incomplete"))
      running = true;
  }
  CHECK(pair);
  CHECK(running);
  CHECK(main_oid(p) == before);
  release(p, "M003");
  REQUIRE(wait_for(p.root(), [&] { return !event_lines(p.root(), "run finished").empty(); },
                   30s));
}

TEST_CASE("merge queue: a push to a missing remote folder exits 8 with git's own reason",
          "[mergequeue]") {
  auto mode = GENERATE(std::string("auto"), std::string("manual"));
  INFO("auto_merge: " << mode);
  test_project p({ms("M002", {}, {unit("U01", "echo two > m2.txt")})},
                 prefs("  auto_merge: " + mode + "\n  push_remote: ../no-such-remote.git\n"));
  auto r = start_to_end(p);
  INFO(r.output);
  std::string said = r.output;
  if (mode == "manual") {
    CHECK(r.exit_code == 0); // Nothing merged yet, so nothing was pushed.
    auto m = p.cli("merge");
    INFO(m.out << m.err);
    CHECK(m.exit_code == 8);
    said = m.out + m.err;
  } else {
    CHECK(r.exit_code == 8);
  }
  // The local merge stays; the message is git's reason, not a guess.
  CHECK(merges_on_main(p).size() == 1);
  CHECK(contains(said, "does not appear to be a git repository"));
  CHECK_FALSE(contains(said, "unsupported URL protocol"));
}

TEST_CASE("merge queue: a merge through a coordinator whose push fails exits 8 too",
          "[mergequeue]") {
  // M003 keeps the coordinator running while M002 is merged by hand through it.
  test_project p({ms("M002", {}, {unit("U01", "echo two > m2.txt")}),
                  ms("M003", {}, {unit("U01", hold("M003"))})},
                 prefs("  auto_merge: manual\n  push_remote: ../no-such-remote.git\n"));
  REQUIRE(p.cli("start --yes --detach").exit_code == 0);
  REQUIRE(wait_for(p.root(), [&] {
    return status_row(p, "M002").value("state", "") == "complete";
  }, 30s));
  auto m = p.cli("merge M002 --json");
  INFO(m.out << m.err);
  CHECK(m.exit_code == 8);
  auto j = nlohmann::json::parse(m.out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["exitCode"] == 8);
  REQUIRE(j["results"].size() == 1);
  CHECK(j["results"][0]["result"] == "merged");
  CHECK(contains(j["results"][0]["pushError"].get<std::string>(),
                 "does not appear to be a git repository"));
  CHECK(merges_on_main(p).size() == 1);
  release(p, "M003");
  REQUIRE(wait_for(p.root(), [&] { return any_event(p.root(), "run finished"); }, 30s));
}
