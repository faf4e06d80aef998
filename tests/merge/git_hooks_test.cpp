// The repository's git hooks around the commits sf-actors makes with libgit2: pre-commit and
// commit-msg on unit commits (commit_all, and the reference worker in a run), pre-merge-commit
// on merges (`sf-actors merge`, with and without the gate, and the queue of `start`). Real
// repositories and real executable hook scripts; git state is read with the git CLI.
#include "io/git/git.hpp"
#include "messages/error.hpp"
#include "support/eventually.hpp"
#include "support/project.hpp"
#include "support/queue_run.hpp"
#include "support/run_ok.hpp"
#include "support/temp_dir.hpp"
#include "worker/git_commit.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

bool contains(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

// Writes an executable shell hook (or one without the executable bit).
void put_hook(const std::string& path, const std::string& body, mode_t mode = 0755) {
  write_file(path, "#!/bin/sh\n" + body + "\n");
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

// A repository with a linked worktree on its own branch, as a milestone's: unit commits are
// made there, hooks live in the common git dir.
struct hooked_repo {
  temp_dir tmp;
  std::string root = tmp / "repo";
  std::string wt = tmp / "wt";
  std::string hooks = root + "/.git/hooks";

  hooked_repo() {
    init_git_repo(root);
    run_ok("git worktree add -q -b milestone/M001 " + sh_quote(wt), root);
    sf::io::git_init_once();
  }

  std::string trace(const std::string& name) const { return tmp / name; }

  std::string head() const { return run_ok("git rev-parse HEAD", wt); }

  caf::expected<std::string> commit(const std::string& message,
                                    const sf::io::git_hook_settings& s = {}) const {
    return sf::worker::commit_all(wt, message, s);
  }
};

std::string error_text(const caf::expected<std::string>& r) {
  return r ? std::string{} : sf::describe(r.error());
}

} // namespace

TEST_CASE("git hooks: pre-commit runs after staging, in the worktree top, with its index",
          "[githooks]") {
  hooked_repo r;
  put_hook(r.hooks + "/pre-commit",
           "{ pwd; echo \"$GIT_INDEX_FILE\"; git diff --cached --name-only; } > " +
             sh_quote(r.trace("pre-commit")));
  write_file(r.wt + "/a.txt", "a\n");
  auto done = r.commit("Unit one");
  INFO(error_text(done));
  REQUIRE(done);
  CHECK(*done == r.head());
  auto seen = read_file(r.trace("pre-commit"));
  CHECK(contains(seen, r.wt + "\n"));
  CHECK(contains(seen, "/.git/worktrees/wt/index\n"));
  CHECK(contains(seen, "a.txt\n")); // staged before the hook ran
  CHECK(run_ok("git log -1 --format=%s", r.wt) == "Unit one");
}

TEST_CASE("git hooks: a failing pre-commit fails the commit with its output", "[githooks]") {
  hooked_repo r;
  put_hook(r.hooks + "/pre-commit", "echo 'lint: bad style in a.txt' >&2\nexit 3");
  auto before = r.head();
  write_file(r.wt + "/a.txt", "a\n");
  auto done = r.commit("Unit one");
  REQUIRE_FALSE(done);
  auto text = error_text(done);
  CHECK(contains(text, "the pre-commit hook (" + r.hooks + "/pre-commit) exited with code 3"));
  CHECK(contains(text, "lint: bad style in a.txt"));
  CHECK(contains(text, "git_hooks: false"));
  CHECK(r.head() == before);
  CHECK(read_file(r.wt + "/a.txt") == "a\n"); // the work stays
}

TEST_CASE("git hooks: what pre-commit stages is committed", "[githooks]") {
  hooked_repo r;
  put_hook(r.hooks + "/pre-commit", "echo generated > gen.txt && git add gen.txt");
  write_file(r.wt + "/a.txt", "a\n");
  REQUIRE(r.commit("Unit one"));
  CHECK(run_ok("git show HEAD:gen.txt", r.wt) == "generated");
  CHECK(run_ok("git show HEAD:a.txt", r.wt) == "a");
}

TEST_CASE("git hooks: commit-msg rewrites the message, or refuses the commit", "[githooks]") {
  hooked_repo r;
  write_file(r.wt + "/a.txt", "a\n");
  SECTION("rewritten") {
    put_hook(r.hooks + "/commit-msg",
             "msg=$(cat \"$1\")\nprintf 'PROJ-1 %s\\n\\n\\nSigned-off-by: hook\\n\\n' \"$msg\" > "
             "\"$1\"");
    REQUIRE(r.commit("Unit one"));
    CHECK(run_ok("git log -1 --format=%B", r.wt) == "PROJ-1 Unit one\n\nSigned-off-by: hook");
    // The file it edited is git's own.
    CHECK(contains(read_file(r.root + "/.git/worktrees/wt/COMMIT_EDITMSG"), "PROJ-1"));
  }
  SECTION("left alone: the message is ours byte for byte") {
    put_hook(r.hooks + "/commit-msg", "test -s \"$1\"");
    REQUIRE(r.commit("Unit one"));
    CHECK(run_ok("git cat-file commit HEAD | tail -n 1", r.wt) == "Unit one");
  }
  SECTION("refused") {
    put_hook(r.hooks + "/commit-msg", "echo 'subject must name a ticket' >&2\nexit 1");
    auto before = r.head();
    auto done = r.commit("Unit one");
    REQUIRE_FALSE(done);
    CHECK(contains(error_text(done), "the commit-msg hook"));
    CHECK(contains(error_text(done), "subject must name a ticket"));
    CHECK(r.head() == before);
  }
}

TEST_CASE("git hooks: core.hooksPath is honoured, relative to the worktree top", "[githooks]") {
  hooked_repo r;
  // The default folder's hook would fail: it must not be the one run.
  put_hook(r.hooks + "/pre-commit", "exit 1");
  run_ok("git config core.hooksPath .githooks", r.root);
  put_hook(r.wt + "/.githooks/pre-commit", "pwd > " + sh_quote(r.trace("ran")));
  write_file(r.wt + "/a.txt", "a\n");
  auto done = r.commit("Unit one");
  INFO(error_text(done));
  REQUIRE(done);
  CHECK(read_file(r.trace("ran")) == r.wt + "\n");
}

TEST_CASE("git hooks: a hook reached through a symbolic link runs, as under git",
          "[githooks]") {
  hooked_repo r;
  put_hook(r.trace("real-hook"), "touch " + sh_quote(r.trace("ran")));
  std::filesystem::create_symlink(r.trace("real-hook"), r.hooks + "/pre-commit");
  write_file(r.wt + "/a.txt", "a\n");
  REQUIRE(r.commit("Unit one"));
  CHECK(std::filesystem::exists(r.trace("ran")));
}

TEST_CASE("git hooks: a hook without the executable bit is skipped with git's hint",
          "[githooks]") {
  hooked_repo r;
  put_hook(r.hooks + "/pre-commit", "touch " + sh_quote(r.trace("ran")) + "\nexit 1", 0644);
  std::vector<std::string> notes;
  sf::io::git_hook_settings s;
  s.on_note = [&](const std::string& n) { notes.push_back(n); };
  write_file(r.wt + "/a.txt", "a\n");
  auto done = r.commit("Unit one", s);
  INFO(error_text(done));
  REQUIRE(done);
  CHECK_FALSE(std::filesystem::exists(r.trace("ran")));
  REQUIRE(notes.size() == 1);
  CHECK(contains(notes[0], "pre-commit hook (" + r.hooks + "/pre-commit) was ignored"));
  CHECK(contains(notes[0], "not executable"));
  // git's own switch for the hint.
  run_ok("git config advice.ignoredHook false", r.root);
  write_file(r.wt + "/b.txt", "b\n");
  REQUIRE(r.commit("Unit two", s));
  CHECK(notes.size() == 1);
}

TEST_CASE("git hooks: turned off, no hook runs", "[githooks]") {
  hooked_repo r;
  put_hook(r.hooks + "/pre-commit", "touch " + sh_quote(r.trace("ran")) + "\nexit 1");
  put_hook(r.hooks + "/commit-msg", "touch " + sh_quote(r.trace("ran")) + "\nexit 1");
  sf::io::git_hook_settings s;
  s.enabled = false;
  write_file(r.wt + "/a.txt", "a\n");
  auto done = r.commit("Unit one", s);
  INFO(error_text(done));
  REQUIRE(done);
  CHECK_FALSE(std::filesystem::exists(r.trace("ran")));
  CHECK(run_ok("git log -1 --format=%s", r.wt) == "Unit one");
}

TEST_CASE("git hooks: a hook past its timeout is ended with its process group",
          "[githooks]") {
  hooked_repo r;
  // The background sleep shares the hook's group: it must not outlive the hook.
  put_hook(r.hooks + "/pre-commit",
           "sleep 30 & echo $! > " + sh_quote(r.trace("child")) + "\necho waiting\nwait");
  sf::io::git_hook_settings s;
  s.timeout = 300ms;
  s.grace = 1s;
  write_file(r.wt + "/a.txt", "a\n");
  auto started = std::chrono::steady_clock::now();
  auto done = r.commit("Unit one", s);
  REQUIRE_FALSE(done);
  CHECK(std::chrono::steady_clock::now() - started < 10s);
  CHECK(contains(error_text(done), "timed out"));
  CHECK(contains(error_text(done), "waiting"));
  auto child = std::stol(read_file(r.trace("child")));
  // Signalled with its group; its end is not announced, so it is polled for.
  CHECK(eventually([&] { return !alive(child); }));
}

namespace {

std::string main_oid(const test_project& p) {
  auto out = p.git("rev-parse main");
  return out.substr(0, out.find('\n'));
}

std::string git_dir_files(const test_project& p) {
  return run_ok("ls -a .git", p.root());
}

} // namespace

TEST_CASE("git hooks: a failing pre-merge-commit blocks `sf-actors merge`, a passing one sees "
          "the merged index", "[githooks]") {
  auto gate = GENERATE(std::string(""), std::string("  merge_gate: \"true\"\n"));
  INFO("gate: " << gate);
  test_project p({ms("M002", {}, {unit_spec{"U01", "echo two > m2.txt", {}, -1}})},
                 "  enabled: true\n  auto_merge: manual\n" + gate);
  auto r = start_to_end(p);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto hook = p.path(".git/hooks/pre-merge-commit");
  put_hook(hook, "echo 'merge check: m2.txt is not allowed' >&2\nexit 1");
  auto before = main_oid(p);
  auto m = p.cli("merge M002");
  INFO(m.out << m.err);
  CHECK(m.exit_code == 1);
  CHECK(contains(m.out, "pre-merge-commit hook (" + hook + ") exited with code 1"));
  CHECK(contains(m.out, "merge check: m2.txt is not allowed"));
  CHECK(main_oid(p) == before);
  CHECK_FALSE(std::filesystem::exists(p.path("m2.txt")));
  p.git("rev-parse --verify milestone/M002"); // the branch is kept
  CHECK(std::filesystem::exists(p.path(".sf/worktrees/M002")));
  // Passing, it runs in the root checkout on an index holding the merge.
  auto seen = p.path("seen.txt");
  put_hook(hook, "{ pwd; echo \"$GIT_REFLOG_ACTION\"; git diff --cached --name-only; } > " +
                   sh_quote(seen));
  auto again = p.cli("merge M002");
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  CHECK(contains(again.out, "- **M002** — merged successfully"));
  CHECK(main_oid(p) != before);
  auto said = read_file(seen);
  CHECK(contains(said, p.root() + "\n"));
  CHECK(contains(said, "merge milestone/M002\n"));
  CHECK(contains(said, "m2.txt\n"));
  CHECK_FALSE(contains(git_dir_files(p), "sf-index.pre-merge-commit"));
}

TEST_CASE("git hooks: a pre-merge-commit that stages files blocks the merge instead of losing "
          "them", "[githooks]") {
  test_project p({ms("M002", {}, {unit_spec{"U01", "echo two > m2.txt", {}, -1}})},
                 "  enabled: true\n  auto_merge: manual\n");
  auto r = start_to_end(p);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  put_hook(p.path(".git/hooks/pre-merge-commit"), "echo x > extra.txt && git add extra.txt");
  auto before = main_oid(p);
  auto m = p.cli("merge M002");
  INFO(m.out << m.err);
  CHECK(m.exit_code == 1);
  CHECK(contains(m.out, "changed the merge's index"));
  CHECK(main_oid(p) == before);
}

TEST_CASE("git hooks: in a run, unit commits pass pre-commit and the queue waits out a "
          "refusing pre-merge-commit until the hook changes", "[githooks]") {
  test_project p({ms("M002", {}, {unit_spec{"U01", "echo two > m2.txt", {}, -1}})},
                 "  enabled: true\n  auto_merge: auto\n");
  auto commits = p.path("pre-commit-runs");
  put_hook(p.path(".git/hooks/pre-commit"), "pwd >> " + sh_quote(commits));
  auto hook = p.path(".git/hooks/pre-merge-commit");
  put_hook(hook, "echo 'not on a Friday' >&2\nexit 1");
  auto before = main_oid(p);
  auto child = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] { return !event_lines(p.root(), "not on a Friday").empty(); },
                   30s));
  CHECK(main_oid(p) == before);
  auto told = event_lines(p.root(), "not on a Friday");
  CHECK(contains(told[0], "pre-merge-commit hook"));
  CHECK(contains(told[0], "goes on by itself"));
  CHECK(contains(status_row(p, "M002").value("note", ""), "not on a Friday"));
  // The unit's commit and the completion mark ran pre-commit, in the milestone's worktree.
  CHECK(contains(read_file(commits), p.path(".sf/worktrees/M002") + "\n"));
  // Fixed, the hook lets the merge through without anyone asking again.
  put_hook(hook, "exit 0");
  auto end = finish(p, child, 1);
  INFO(end.output);
  CHECK(end.exit_code == 0);
  CHECK(main_oid(p) != before);
  CHECK(p.git("show main:m2.txt") == "two\n");
}

TEST_CASE("git hooks: a failing pre-commit fails the milestone with the hook's output",
          "[githooks]") {
  test_project p({ms("M002", {}, {unit_spec{"U01", "echo two > m2.txt", {}, -1}})},
                 "  enabled: true\n  auto_merge: auto\n  max_restarts: 0\n");
  put_hook(p.path(".git/hooks/pre-commit"), "echo 'lint: m2.txt needs a header' >&2\nexit 2");
  auto before = main_oid(p);
  auto r = start_to_end(p);
  INFO(r.output << read_file(p.path(".sf/parallel/M002.log")));
  CHECK(main_oid(p) == before);
  CHECK(state_of(p.root(), "M002") == "failed");
  auto told = event_lines(p.root(), "lint: m2.txt needs a header");
  REQUIRE_FALSE(told.empty());
  CHECK(contains(told[0], "pre-commit hook"));
  CHECK(contains(status_row(p, "M002").value("note", ""), "lint: m2.txt needs a header"));
}

TEST_CASE("git hooks: git_hooks: false runs none in a run, and the logs say so once",
          "[githooks]") {
  test_project p({ms("M002", {}, {unit_spec{"U01", "echo two > m2.txt", {}, -1}})},
                 "  enabled: true\n  auto_merge: auto\n  git_hooks: false\n");
  for (const char* name : {"pre-commit", "commit-msg", "pre-merge-commit"})
    put_hook(p.path(std::string(".git/hooks/") + name), "exit 1");
  auto r = start_to_end(p);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(p.git("show main:m2.txt") == "two\n");
  auto coordinator = read_file(p.path(".sf/parallel/coordinator.log"));
  CHECK(contains(coordinator, "git_hooks: false"));
  auto worker = read_file(p.path(".sf/parallel/M002.log"));
  auto first = worker.find("git_hooks: false");
  CHECK(first != std::string::npos);
  CHECK(worker.find("git_hooks: false", first + 1) == std::string::npos);
}
