#include "io/git/git.hpp"
#include "io/git/merge.hpp"
#include "io/git/state_merge.hpp"
#include "io/git/tree_merge.hpp"
#include "messages/error.hpp"
#include "support/run_ok.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

using sf::io::merge_request;
using sf::io::merge_result;
using sf::test::read_file;
using sf::test::run;
using sf::test::sh_quote;
using sf::test::write_file;

namespace {

std::string sh(const std::string& cmd, const std::string& cwd) {
  return sf::test::run_ok(cmd, cwd);
}

std::string rev(const std::string& root, const std::string& what) {
  return sh("git rev-parse " + sh_quote(what), root);
}

/// A repository on `main` with nested folders, line files, an executable and a folder to delete.
void make_base(const std::string& root) {
  sf::test::init_git_repo(root);
  sh("mkdir -p src/a src/b old && seq 1 20 > lines.txt && seq 1 30 > src/a/other.txt && "
     "echo top > src/a/top.txt && echo keep > src/b/keep.txt && echo x > old/x.txt && "
     "echo y > old/y.txt && printf '#!/bin/sh\\necho hi\\n' > run.sh && git add -A && "
     "git commit -qm base",
     root);
}

/// Commits `ours` (shell) on main and `theirs` on milestone/M001 (both from the current main);
/// gives the branch tip and leaves main checked out.
std::string diverge(const std::string& root, const std::string& ours, const std::string& theirs) {
  // One shell for all steps: every command the test process spawns costs a fork of it.
  std::string script = "git branch milestone/M001";
  if (!ours.empty())
    script += " && " + ours + " && git add -A && git commit -qm ours";
  script += " && git switch -q milestone/M001";
  if (!theirs.empty())
    script += " && " + theirs + " && git add -A && git commit -qm theirs";
  script += " && git rev-parse HEAD && git switch -q main";
  return sh(script, root);
}

merge_result merge(const std::string& root, const std::string& mid, const std::string& tip,
                   const std::string& message = "Merge milestone") {
  merge_request req;
  req.root = root;
  req.mid = mid;
  req.tip = tip;
  req.message = message;
  auto r = sf::io::merge_milestone(req);
  INFO((r ? std::string{} : sf::describe(r.error())));
  REQUIRE(r);
  INFO(r->text);
  return *r;
}

} // namespace

TEST_CASE("merge_milestone merges edits in different places of one file", "[merge]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  make_base(root);
  auto tip = diverge(root, "sed -i 's/^2$/two/' lines.txt", "sed -i 's/^19$/nineteen/' lines.txt");
  auto before = rev(root, "main");
  auto r = merge(root, "M001", tip, "Merge milestone/M001 (test)");
  REQUIRE(r.kind == sf::core::merge_kind::merged);
  CHECK(r.commit == rev(root, "main"));
  CHECK(r.files == std::vector<std::string>{"lines.txt"});
  CHECK(sh("git rev-list --parents -n 1 main", root) == r.commit + " " + before + " " + tip);
  CHECK(sh("git log -1 --format=%B main", root) == "Merge milestone/M001 (test)");
  CHECK(rev(root, "milestone/M001") == tip);
  auto text = read_file(root + "/lines.txt");
  CHECK(text.find("two\n") != std::string::npos);
  CHECK(text.find("nineteen\n") != std::string::npos);
  // The root has main checked out: it must show the merge, not a reversed diff.
  CHECK(sh("git status --porcelain", root).empty());
  CHECK(sh("git show main:lines.txt", root) + "\n" == text);
}

TEST_CASE("merge_milestone gives the same tree as git merge-tree", "[merge]") {
  struct scenario {
    const char* name;
    const char* ours;
    const char* theirs;
  };
  const scenario scenarios[] = {
    {"adds in nested folders", "mkdir -p src/a/n && echo n1 > src/a/n/new1.txt",
     "mkdir -p src/b/c/d lib && echo n2 > src/b/c/d/new2.txt && echo l > lib/x.txt"},
    {"deletes", "git rm -q old/x.txt && echo more >> src/b/keep.txt",
     "git rm -q -r old && git rm -q src/a/top.txt"},
    {"rename as add and delete", "sed -i 's/^4$/four/' src/a/other.txt",
     "git mv src/a/top.txt src/moved.txt && git mv src/b src/c"},
    {"exec bit and content", "sed -i 's/hi/hello/' run.sh && sed -i 's/^1$/one/' lines.txt",
     "chmod +x run.sh && sed -i 's/^20$/twenty/' lines.txt"},
    {"same change on both sides", "echo same > both.txt && git rm -q old/y.txt && "
                                   "sed -i 's/^7$/seven/' lines.txt",
     "echo same > both.txt && git rm -q old/y.txt && sed -i 's/^7$/seven/' lines.txt && "
     "echo t > src/a/t.txt"},
    {"folder emptied from both sides", "git rm -q old/x.txt", "git rm -q old/y.txt"},
    {"deep edits both sides", "sed -i 's/^3$/three/' src/a/other.txt && echo o > src/a/o.txt",
     "sed -i 's/^28$/twenty-eight/' src/a/other.txt && echo t > src/b/t.txt"},
  };
  for (const auto& s : scenarios) {
    INFO(s.name);
    sf::test::temp_dir tmp;
    auto root = tmp.path();
    make_base(root);
    auto tip = diverge(root, s.ours, s.theirs);
    auto expected = sh("git merge-tree --write-tree main " + tip, root);
    auto r = merge(root, "M001", tip);
    REQUIRE(r.kind == sf::core::merge_kind::merged);
    CHECK(rev(root, "main^{tree}") == expected);
    CHECK(sh("git status --porcelain", root).empty());
  }
}

TEST_CASE("merge_milestone stops on a code conflict and merges once it is resolved", "[merge]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  make_base(root);
  auto tip = diverge(root,
                     "sed -i 's/^5$/main-five/' lines.txt && echo m > src/a/top.txt && "
                     "git rm -q old/x.txt",
                     "sed -i 's/^5$/branch-five/' lines.txt && echo keep2 > src/b/keep.txt && "
                     "echo x2 > old/x.txt");
  auto before = rev(root, "main");
  auto predicted = sf::io::predict_conflicts(root, "main", "milestone/M001");
  REQUIRE(predicted);
  CHECK(*predicted == std::vector<std::string>{"lines.txt", "old/x.txt"});
  auto r = merge(root, "M001", tip);
  REQUIRE(r.kind == sf::core::merge_kind::conflict);
  CHECK(r.files == std::vector<std::string>{"lines.txt", "old/x.txt"});
  CHECK(r.text.find("lines.txt") != std::string::npos);
  CHECK(r.commit.empty());
  CHECK(rev(root, "main") == before);
  CHECK(sh("git status --porcelain", root).empty());
  // Resolve on the branch with a new commit, then merge the new tip.
  sh("git switch -q milestone/M001 && sed -i 's/^branch-five$/main-five/' lines.txt && "
     "git rm -q old/x.txt && git commit -qam resolve && git switch -q main",
     root);
  auto r2 = merge(root, "M001", rev(root, "milestone/M001"));
  REQUIRE(r2.kind == sf::core::merge_kind::merged);
  CHECK(sh("git show main:lines.txt", root).find("main-five") != std::string::npos);
  CHECK(sh("git show main:src/b/keep.txt", root) == "keep2");
  CHECK(sh("git show main:src/a/top.txt", root) == "m");
  CHECK(sh("git ls-tree -r --name-only main old", root) == "old/y.txt");
}

TEST_CASE("merge_milestone resolves .sf/ state so that two milestones both land", "[merge]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  sf::test::init_git_repo(root);
  auto milestone_md = [](const std::string& mid, const std::string& status,
                         const std::string& history) {
    return "---\ntitle: " + mid + "\nstatus: " + status + "\n---\n# " + mid + "\n" + history;
  };
  write_file(root + "/.sf/STATE.md", "# State\nactive: none\nnotes: base\n");
  write_file(root + "/.sf/metrics.json", "{\"version\":1,\"milestones\":{}}\n");
  write_file(root + "/.sf/notes.md", "shared notes\n");
  write_file(root + "/.sf/milestones/M002/MILESTONE.md", milestone_md("M002", "pending", ""));
  write_file(root + "/.sf/milestones/M003/MILESTONE.md", milestone_md("M003", "pending", ""));
  sh("git add -A && git commit -qm plan && git branch milestone/M002 && "
     "git branch milestone/M003",
     root);
  auto work = [&](const std::string& mid, double cost) {
    sh("git switch -q milestone/" + mid, root);
    write_file(root + "/.sf/STATE.md", "# State\nactive: " + mid + "\nnotes: done " + mid + "\n");
    write_file(root + "/.sf/metrics.json",
               "{\"version\":1,\"milestones\":{\"" + mid + "\":{\"units\":2,\"cost\":" +
                 std::to_string(cost) + "}}}\n");
    write_file(root + "/.sf/milestones/" + mid + "/MILESTONE.md",
               milestone_md(mid, "complete", "- U1 done\n- U2 done\n"));
    // M002 drops the shared notes, M003 edits them: the branch merged last decides.
    sh(std::string{mid == "M002" ? "git rm -q .sf/notes.md" : "echo more >> .sf/notes.md"} +
         " && git add -A && git commit -qm work-" + mid,
       root);
    auto tip = rev(root, "HEAD");
    sh("git switch -q main", root);
    return tip;
  };
  auto tip2 = work("M002", 1.5);
  auto tip3 = work("M003", 2.5);
  auto conflicts = sf::io::predict_conflicts(root, "milestone/M002", "milestone/M003");
  REQUIRE(conflicts);
  CHECK(conflicts->empty());
  REQUIRE(merge(root, "M002", tip2).kind == sf::core::merge_kind::merged);
  REQUIRE(merge(root, "M003", tip3).kind == sf::core::merge_kind::merged);
  auto metrics = nlohmann::json::parse(sh("git show main:.sf/metrics.json", root));
  CHECK(metrics["version"] == 1);
  CHECK(metrics["milestones"]["M002"]["units"] == 2);
  CHECK(metrics["milestones"]["M003"]["units"] == 2);
  CHECK(metrics["milestones"]["M003"]["cost"] == 2.5);
  for (const char* mid : {"M002", "M003"}) {
    auto md = sh(std::string{"git show main:.sf/milestones/"} + mid + "/MILESTONE.md", root);
    CHECK(md.find("status: complete") != std::string::npos);
    CHECK(md.find("- U2 done") != std::string::npos);
  }
  // The conflicting line of STATE.md takes the branch merged last.
  CHECK(sh("git show main:.sf/STATE.md", root).find("active: M003") != std::string::npos);
  CHECK(sh("git show main:.sf/notes.md", root) == "shared notes\nmore");
  CHECK(sh("git status --porcelain", root).empty());
}

TEST_CASE("merge_metrics_json keeps ours and takes what theirs changed", "[merge]") {
  auto out = sf::io::merge_metrics_json(
    R"({"version":1,"milestones":{"M1":{"cost":1},"M2":{"cost":2}}})",
    R"({"version":1,"milestones":{"M1":{"cost":5},"M2":{"cost":2},"M3":{"cost":3}}})",
    R"({"version":1,"milestones":{"M2":{"cost":9},"M4":{"cost":4}}})");
  REQUIRE(out);
  auto j = nlohmann::json::parse(*out);
  // Theirs dropping M1 must not erase it; theirs changing M2 wins; M3 and M4 are both kept.
  CHECK(j["milestones"]["M1"]["cost"] == 5);
  CHECK(j["milestones"]["M2"]["cost"] == 9);
  CHECK(j["milestones"]["M3"]["cost"] == 3);
  CHECK(j["milestones"]["M4"]["cost"] == 4);
  CHECK_FALSE(sf::io::merge_metrics_json("", "[1]", "{}"));
}

TEST_CASE("merge_milestone is a no-op on replay and merges only the recorded tip", "[merge]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  make_base(root);
  auto tip1 = diverge(root, "echo m > main.txt", "echo one > one.txt");
  sh("git switch -q milestone/M001 && echo two > two.txt && git add two.txt && "
     "git commit -qm later && git switch -q main",
     root);
  auto r = merge(root, "M001", tip1);
  REQUIRE(r.kind == sf::core::merge_kind::merged);
  CHECK(rev(root, "main^2") == tip1);
  CHECK(sh("git ls-tree --name-only main", root).find("two.txt") == std::string::npos);
  CHECK(sh("git show main:one.txt", root) == "one");
  auto again = merge(root, "M001", tip1);
  CHECK(again.kind == sf::core::merge_kind::already_merged);
  CHECK(rev(root, "main") == r.commit);
  CHECK(sh("git rev-list --count main", root) == "5");
}

TEST_CASE("merge_milestone dry run changes nothing", "[merge]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  make_base(root);
  auto tip = diverge(root, "echo m > main.txt", "echo b > b.txt");
  auto before = rev(root, "main");
  merge_request req;
  req.root = root;
  req.mid = "M001";
  req.tip = tip;
  req.dry_run = true;
  auto r = sf::io::merge_milestone(req);
  REQUIRE(r);
  CHECK(r->kind == sf::core::merge_kind::merged);
  CHECK(r->commit.empty());
  CHECK(r->files == std::vector<std::string>{"b.txt"});
  CHECK(rev(root, "main") == before);
  CHECK(sh("git status --porcelain", root).empty());
}

TEST_CASE("merge_milestone recomputes on top of a commit that lands on main meanwhile",
          "[merge]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  make_base(root);
  auto tip = diverge(root, "", "sed -i 's/^10$/ten/' lines.txt");
  // Nobody has main checked out here; another process (a push into this repository, a
  // script) moves it between our merge commit and our compare-and-swap.
  sh("git switch -q -c side", root);
  std::string user_commit;
  int calls = 0;
  merge_request req;
  req.root = root;
  req.mid = "M001";
  req.tip = tip;
  req.message = "merge it";
  req.before_cas = [&] {
    if (calls++ > 0)
      return;
    sh("git switch -q main && echo mine > user.txt && sed -i 's/^1$/uno/' lines.txt && "
       "git add -A && git commit -qm user && git switch -q side",
       root);
    user_commit = rev(root, "main");
  };
  auto r = sf::io::merge_milestone(req);
  REQUIRE(r);
  INFO(r->text);
  REQUIRE(r->kind == sf::core::merge_kind::merged);
  CHECK(calls == 2);
  CHECK(rev(root, "main") == r->commit);
  CHECK(rev(root, "main^1") == user_commit);
  CHECK(rev(root, "main^2") == tip);
  auto lines = sh("git show main:lines.txt", root);
  CHECK(lines.find("uno") != std::string::npos);
  CHECK(lines.find("ten") != std::string::npos);
  CHECK(sh("git show main:user.txt", root) == "mine");
  CHECK(sh("git status --porcelain", root).empty());
}

TEST_CASE("merge_milestone holds the checkout's index.lock while main moves", "[merge]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  make_base(root);
  auto tip = diverge(root, "echo m > main.txt", "sed -i 's/^10$/ten/' lines.txt");
  write_file(root + "/user.txt", "the user's file\n");
  merge_request req;
  req.root = root;
  req.mid = "M001";
  req.tip = tip;
  std::string during_add;
  int during_add_rc = 0;
  bool locked_during = false;
  req.before_cas = [&] {
    // The user's `git add` while the merge lands must not be read before and written around:
    // git refuses it while the merge holds the lock, as with any other git process.
    locked_during = std::filesystem::exists(root + "/.git/index.lock");
    auto add = run("git add user.txt", root);
    during_add_rc = add.exit_code;
    during_add = add.err;
  };
  auto r = sf::io::merge_milestone(req);
  REQUIRE(r);
  INFO(r->text);
  REQUIRE(r->kind == sf::core::merge_kind::merged);
  CHECK(locked_during);
  CHECK(during_add_rc != 0);
  CHECK(during_add.find("index.lock") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(root + "/.git/index.lock"));
  // Afterwards the user's add works, and the checkout shows main with nothing else staged.
  sh("git add user.txt", root);
  CHECK(sh("git status --porcelain", root) == "A  user.txt");
  CHECK(read_file(root + "/lines.txt").find("ten") != std::string::npos);
}

TEST_CASE("merge_milestone reports a stale main.lock and leaves main alone", "[merge]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  make_base(root);
  auto tip = diverge(root, "echo m > main.txt", "echo b > b.txt");
  auto before = rev(root, "main");
  write_file(root + "/.git/refs/heads/main.lock", "");
  auto r = merge(root, "M001", tip);
  CHECK(r.kind == sf::core::merge_kind::locked);
  CHECK(r.text.find(".git/refs/heads/main.lock") != std::string::npos);
  CHECK(rev(root, "main") == before);
  CHECK(sh("git status --porcelain", root).empty());
}

TEST_CASE("merge_milestone protects uncommitted changes in the root checkout", "[merge]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  make_base(root);
  auto tip = diverge(root, "echo m > main.txt",
                     "sed -i 's/^3$/three/' lines.txt && echo new > src/a/new.txt");
  auto before = rev(root, "main");
  SECTION("a change to a file the merge touches stops it") {
    write_file(root + "/lines.txt", "my own edit\n");
    auto r = merge(root, "M001", tip);
    CHECK(r.kind == sf::core::merge_kind::dirty_checkout);
    CHECK(r.files == std::vector<std::string>{"lines.txt"});
    CHECK(rev(root, "main") == before);
    CHECK(read_file(root + "/lines.txt") == "my own edit\n");
  }
  SECTION("an untracked file where the merge adds one stops it") {
    write_file(root + "/src/a/new.txt", "untracked\n");
    auto r = merge(root, "M001", tip);
    CHECK(r.kind == sf::core::merge_kind::dirty_checkout);
    CHECK(r.files == std::vector<std::string>{"src/a/new.txt"});
    CHECK(rev(root, "main") == before);
    CHECK(read_file(root + "/src/a/new.txt") == "untracked\n");
  }
  SECTION("changes to other files survive a merge untouched") {
    write_file(root + "/README", "edited by the user\n");
    write_file(root + "/src/b/keep.txt", "staged by the user\n");
    sh("git add src/b/keep.txt", root);
    auto r = merge(root, "M001", tip);
    REQUIRE(r.kind == sf::core::merge_kind::merged);
    CHECK(read_file(root + "/README") == "edited by the user\n");
    CHECK(read_file(root + "/src/a/new.txt") == "new\n");
    CHECK(sh("git status --porcelain", root) == " M README\nM  src/b/keep.txt");
  }
}

TEST_CASE("merge_milestone updates the root checkout for many changed files", "[merge]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  make_base(root);
  // More files than the engine passes to libgit2 as a path list.
  auto tip = diverge(root, "echo m > main.txt",
                     "mkdir -p many && for i in $(seq 1 300); do echo $i > many/f$i.txt; done && "
                     "sed -i 's/^3$/three/' lines.txt");
  auto before = rev(root, "main");
  write_file(root + "/lines.txt", "my own edit\n");
  write_file(root + "/README", "edited by the user\n");
  auto dirty = merge(root, "M001", tip);
  CHECK(dirty.kind == sf::core::merge_kind::dirty_checkout);
  CHECK(dirty.files == std::vector<std::string>{"lines.txt"});
  CHECK(rev(root, "main") == before);
  sh("git checkout -q -- lines.txt", root);
  auto r = merge(root, "M001", tip);
  REQUIRE(r.kind == sf::core::merge_kind::merged);
  CHECK(r.files.size() == 301);
  CHECK(read_file(root + "/many/f300.txt") == "300\n");
  CHECK(read_file(root + "/README") == "edited by the user\n");
  CHECK(sh("git status --porcelain", root) == " M README");
}

TEST_CASE("merge_milestone only moves the ref when the root has another branch", "[merge]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  make_base(root);
  auto tip = diverge(root, "echo m > main.txt", "echo b > b.txt");
  sh("git switch -q -c side", root);
  write_file(root + "/b.txt", "user file on side\n");
  auto r = merge(root, "M001", tip);
  REQUIRE(r.kind == sf::core::merge_kind::merged);
  CHECK(rev(root, "main") == r.commit);
  CHECK(read_file(root + "/b.txt") == "user file on side\n");
  CHECK(sh("git symbolic-ref HEAD", root) == "refs/heads/side");
}

TEST_CASE("merge_milestone rejects bad input with a clear error", "[merge]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  make_base(root);
  merge_request req;
  req.root = root;
  req.mid = "../x";
  req.tip = rev(root, "main");
  auto bad_id = sf::io::merge_milestone(req);
  REQUIRE_FALSE(bad_id);
  CHECK(sf::code_of(bad_id.error()) == sf::ec::invalid_input);
  req.mid = "M001";
  req.tip = "1234";
  auto bad_tip = sf::io::merge_milestone(req);
  REQUIRE_FALSE(bad_tip);
  CHECK(sf::describe(bad_tip.error()).find("1234") != std::string::npos);
  req.tip = std::string(40, 'a');
  auto missing = sf::io::merge_milestone(req);
  REQUIRE_FALSE(missing);
  CHECK(sf::code_of(missing.error()) == sf::ec::not_found);
}
