// Merging while a person works in the checkout that has main checked out: git operations in
// progress, git's lock files, staged and uncommitted changes, linked worktrees, a checkout left
// half updated, and the integration branch that a switch must never redirect.
#include "io/git/checkout_update.hpp"
#include "io/git/git.hpp"
#include "io/git/git_checkouts.hpp"
#include "io/git/integration_branch.hpp"
#include "io/git/merge.hpp"
#include "messages/error.hpp"
#include "support/run_ok.hpp"
#include "support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

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

bool exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::symlink_status(path, ec));
}

/// A repository on main with a file of numbered lines, and a milestone branch that changes
/// line 3 of it and adds m.txt; returns the branch tip, main checked out.
std::string make_repo(const std::string& root) {
  sf::test::init_git_repo(root);
  sh("seq 1 20 > lines.txt && echo readme > README.md && git add -A && git commit -qm base && "
     "git branch milestone/M001 && git switch -q milestone/M001 && "
     "sed -i 's/^3$/three/' lines.txt && echo m > m.txt && git add -A && git commit -qm work && "
     "git switch -q main",
     root);
  return rev(root, "milestone/M001");
}

merge_result merge(const std::string& root, const std::string& tip) {
  merge_request req;
  req.root = root;
  req.mid = "M001";
  req.tip = tip;
  auto r = sf::io::merge_milestone(req);
  INFO((r ? std::string{} : sf::describe(r.error())));
  REQUIRE(r);
  INFO(r->text);
  return *r;
}

bool on_main(const std::string& root, const std::string& tip) {
  return run("git merge-base --is-ancestor " + tip + " main", root).exit_code == 0;
}

/// Main, the index and the files as they are, to prove an obstacle changed none of them.
std::string snapshot(const std::string& root) {
  return rev(root, "main") + "|" + sh("git status --porcelain=v1 -uall", root) + "|" +
         sh("git ls-files -s", root) + "|" + read_file(root + "/lines.txt");
}

} // namespace

TEST_CASE("a git operation in progress on main keeps main where it is", "[merge][checkout]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  auto tip = make_repo(root);
  struct op {
    const char* name;
    std::string start;  // leaves the operation in progress
    std::string finish; // what the user does to end it
  };
  // A branch whose change to README.md conflicts with main's, for the stopped operations.
  sh("git switch -q -c other && echo other >> README.md && git commit -qam other && "
     "git switch -q main && echo main >> README.md && git commit -qam 'main edit'",
     root);
  std::vector<op> ops = {
    {"rebase", "GIT_SEQUENCE_EDITOR='sed -i 1s/^pick/edit/' git rebase -q -i HEAD~1",
     "git rebase --abort"},
    {"rebase", "git rebase -q other || true", "git rebase --abort"},
    {"merge", "git merge -q other || true", "git merge --abort"},
    {"cherry-pick", "git cherry-pick other || true", "git cherry-pick --abort"},
    {"revert", "git revert --no-edit other || true", "git revert --abort"},
    {"bisect", "git bisect start HEAD HEAD~2 >/dev/null", "git bisect reset -q 2>/dev/null || "
                                                           "git bisect reset"},
    {"am", "git format-patch -q -1 other --stdout > ../p.patch && (git am -q ../p.patch || true)",
     "git am --abort"},
  };
  for (const auto& o : ops) {
    CAPTURE(o.name, o.start);
    sh(o.start + " >/dev/null 2>&1", root);
    auto before = snapshot(root);
    auto r = merge(root, tip);
    CHECK(r.kind == sf::core::merge_kind::blocked);
    CHECK(r.text.find(std::string{"a git "} + o.name + " is in progress") != std::string::npos);
    CHECK(r.text.find(o.finish.substr(0, o.finish.find(' ', 4))) != std::string::npos);
    CHECK_FALSE(r.watch.empty());
    CHECK(snapshot(root) == before);
    CHECK_FALSE(on_main(root, tip));
    sh(o.finish + " >/dev/null 2>&1", root);
  }
  // Once the user is done, the merge lands and the checkout shows it.
  auto r = merge(root, tip);
  REQUIRE(r.kind == sf::core::merge_kind::merged);
  CHECK(on_main(root, tip));
  CHECK(read_file(root + "/m.txt") == "m\n");
  CHECK(sh("git status --porcelain", root).empty());
}

TEST_CASE("after a rebase of main is aborted, the milestone merges and stays reachable",
          "[merge][checkout]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  auto tip = make_repo(root);
  sh("echo mine > user.txt && git add user.txt && git commit -qm user && "
     "GIT_SEQUENCE_EDITOR='sed -i 1s/^pick/edit/' git rebase -q -i HEAD~1 >/dev/null 2>&1",
     root);
  auto user_commit = rev(root, "main");
  CHECK(merge(root, tip).kind == sf::core::merge_kind::blocked);
  sh("git rebase --abort", root);
  CHECK(rev(root, "main") == user_commit);
  auto r = merge(root, tip);
  REQUIRE(r.kind == sf::core::merge_kind::merged);
  CHECK(on_main(root, tip));
  CHECK(rev(root, "main^1") == user_commit);
  CHECK(sh("git branch --contains " + tip, root).find("main") != std::string::npos);
}

TEST_CASE("a held index.lock is an obstacle, never a silent success", "[merge][checkout]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  auto tip = make_repo(root);
  SECTION("a stale lock keeps main and the checkout as they are") {
    write_file(root + "/.git/index.lock", "");
    auto before = rev(root, "main");
    auto r = merge(root, tip);
    CHECK(r.kind == sf::core::merge_kind::locked);
    CHECK(r.text.find(".git/index.lock exists") != std::string::npos);
    CHECK(r.watch == std::vector<std::string>{root + "/.git"});
    CHECK(rev(root, "main") == before);
    CHECK(exists(root + "/.git/index.lock"));
    ::unlink((root + "/.git/index.lock").c_str());
    REQUIRE(merge(root, tip).kind == sf::core::merge_kind::merged);
    CHECK(sh("git status --porcelain", root).empty());
    CHECK_FALSE(exists(root + "/.git/index.lock"));
  }
  SECTION("a lock another process holds for a moment is waited out") {
    sh("touch .git/index.lock && { (sleep 0.3; rm -f .git/index.lock) >/dev/null 2>&1 & true; }", root);
    REQUIRE(exists(root + "/.git/index.lock"));
    auto r = merge(root, tip);
    CHECK(r.kind == sf::core::merge_kind::merged);
    CHECK(sh("git status --porcelain", root).empty());
  }
}

TEST_CASE("main's ref lock: waited out for a moment, an obstacle when stale, never a conflict",
          "[merge][checkout]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  auto tip = make_repo(root);
  SECTION("stale") {
    write_file(root + "/.git/refs/heads/main.lock", "");
    auto r = merge(root, tip);
    CHECK(r.kind == sf::core::merge_kind::locked);
    CHECK(r.text.find("main.lock exists") != std::string::npos);
    CHECK(r.watch == std::vector<std::string>{root + "/.git/refs/heads"});
    // Main did not move, so the checkout was left alone and the index lock given back.
    CHECK(sh("git status --porcelain", root).empty());
    CHECK_FALSE(exists(root + "/.git/index.lock"));
  }
  SECTION("transient") {
    sh("touch .git/refs/heads/main.lock && { (sleep 0.3; rm -f .git/refs/heads/main.lock) "
       ">/dev/null 2>&1 & true; }",
       root);
    REQUIRE(exists(root + "/.git/refs/heads/main.lock"));
    CHECK(merge(root, tip).kind == sf::core::merge_kind::merged);
    CHECK(sh("git status --porcelain", root).empty());
  }
}

TEST_CASE("staged changes block the paths they touch and survive everywhere else",
          "[merge][checkout]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  auto tip = make_repo(root);
  sh("echo staged > README.md && git add README.md", root);
  SECTION("a staged change elsewhere stays staged") {
    REQUIRE(merge(root, tip).kind == sf::core::merge_kind::merged);
    CHECK(sh("git status --porcelain", root) == "M  README.md");
    CHECK(sh("git show :README.md", root) == "staged");
  }
  SECTION("a staged change of a merged path keeps main where it is") {
    sh("sed -i 's/^20$/twenty/' lines.txt && git add lines.txt", root);
    auto before = snapshot(root);
    auto r = merge(root, tip);
    CHECK(r.kind == sf::core::merge_kind::dirty_checkout);
    CHECK(r.files == std::vector<std::string>{"lines.txt"});
    CHECK(snapshot(root) == before);
    sh("git commit -qm 'user: twenty'", root);
    REQUIRE(merge(root, tip).kind == sf::core::merge_kind::merged);
    auto lines = read_file(root + "/lines.txt");
    CHECK(lines.find("three") != std::string::npos);
    CHECK(lines.find("twenty") != std::string::npos);
  }
  SECTION("a file the user deleted is their change too") {
    sh("rm lines.txt", root);
    CHECK(merge(root, tip).kind == sf::core::merge_kind::dirty_checkout);
    CHECK_FALSE(exists(root + "/lines.txt"));
  }
}

TEST_CASE("the checkout follows every kind of change: folders, links, modes",
          "[merge][checkout]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  sf::test::init_git_repo(root);
  sh("mkdir -p dir && echo a > dir/a.txt && echo f > thing && echo x > run.sh && "
     "ln -s README target-link && echo keep > README && git add -A && git commit -qm base && "
     "git branch milestone/M001 && git switch -q milestone/M001 && "
     "git rm -rq dir thing && echo now-a-file > dir && mkdir thing && echo inside > thing/in.txt && "
     "chmod +x run.sh && rm target-link && ln -s dir target-link && git add -A && "
     "git commit -qm swap && git switch -q main",
     root);
  auto tip = rev(root, "milestone/M001");
  write_file(root + "/untracked-elsewhere.txt", "mine\n");
  auto r = merge(root, tip);
  INFO(r.text);
  REQUIRE(r.kind == sf::core::merge_kind::merged);
  CHECK(read_file(root + "/dir") == "now-a-file\n");
  CHECK(read_file(root + "/thing/in.txt") == "inside\n");
  CHECK(std::filesystem::read_symlink(root + "/target-link") == "dir");
  CHECK((std::filesystem::status(root + "/run.sh").permissions() &
         std::filesystem::perms::owner_exec) != std::filesystem::perms::none);
  CHECK(sh("git status --porcelain", root) == "?? untracked-elsewhere.txt");
}

TEST_CASE("a file the user changes while the checkout is brought along stays theirs",
          "[merge][checkout]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  auto tip = make_repo(root);
  sh("git branch milestone/M002 main~0 && git switch -q milestone/M002 && echo two > two.txt && "
     "git add -A && git commit -qm two && git switch -q main",
     root);
  auto tip2 = rev(root, "milestone/M002");
  // Between the check under the lock and git writing the files, something of the user's takes
  // m.txt's place (a folder with a file in it): main moves, git refuses to write over it.
  merge_request req;
  req.root = root;
  req.mid = "M001";
  req.tip = tip;
  req.before_cas = [&] {
    std::filesystem::create_directories(root + "/m.txt");
    write_file(root + "/m.txt/mine", "the user's file\n");
  };
  auto r = sf::io::merge_milestone(req);
  REQUIRE(r);
  INFO(r->text);
  CHECK(r->kind == sf::core::merge_kind::merged);
  CHECK(r->notes.find("kept your own version of m.txt") != std::string::npos);
  // The user's file stays; everything else of the merge is in the checkout; the index follows
  // main, so no commit of the user's can revert the milestone; nothing is left locked.
  CHECK(read_file(root + "/m.txt/mine") == "the user's file\n");
  CHECK(read_file(root + "/lines.txt").find("three") != std::string::npos);
  CHECK(sh("git diff --cached --name-only", root).empty());
  CHECK_FALSE(exists(root + "/.git/sf-merge-checkout.json"));
  CHECK_FALSE(exists(root + "/.git/index.lock"));
  // Nothing waits on it: the next milestone merges, and once the user puts m.txt back the
  // checkout is clean.
  merge_request next = req;
  next.mid = "M002";
  next.tip = tip2;
  next.before_cas = nullptr;
  auto done = sf::io::merge_milestone(next);
  REQUIRE(done);
  INFO(done->text);
  CHECK(done->kind == sf::core::merge_kind::merged);
  std::filesystem::remove_all(root + "/m.txt");
  sh("git checkout -- m.txt", root);
  CHECK(read_file(root + "/m.txt") == "m\n");
  CHECK(read_file(root + "/two.txt") == "two\n");
  CHECK(sh("git status --porcelain", root).empty());
}

TEST_CASE("the crash journal is written the moment the index lock is held, before the copy",
          "[merge][checkout]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  make_repo(root);
  auto repo = sf::io::open_repo(root);
  REQUIRE(repo);
  auto all = sf::io::list_checkouts(repo->get());
  REQUIRE(all);
  REQUIRE_FALSE(all->empty());
  sf::io::checkout_move mv;
  REQUIRE(git_oid_fromstr(&mv.from, rev(root, "main^{tree}").c_str()) == 0);
  REQUIRE(git_oid_fromstr(&mv.to, rev(root, "milestone/M001^{tree}").c_str()) == 0);
  mv.paths = {"lines.txt", "m.txt"};
  // A crash right after the lock is taken must find a journal naming it, and nothing of ours
  // (an index copy) that no journal names.
  int called = 0;
  std::vector<std::string> seen;
  auto up = sf::io::checkout_update::prepare(
    all->front(), mv, std::chrono::milliseconds(1000), [&](const sf::io::index_lock&) {
      ++called;
      CHECK(exists(root + "/.git/index.lock"));
      for (const auto& e : std::filesystem::directory_iterator(root + "/.git"))
        if (e.path().filename().string().rfind("sf-index.", 0) == 0)
          seen.push_back(e.path().filename().string());
      return caf::error{};
    });
  REQUIRE(up);
  CHECK(called == 1);
  CHECK(seen.empty());
  up->abandon();
  CHECK_FALSE(exists(root + "/.git/index.lock"));
}

TEST_CASE("a merge cut short after main moved is finished by the next command", "[merge][checkout]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  auto tip = make_repo(root);
  // The crash window, made by hand: main names the merge, the checkout still shows the old
  // tree, our lock is held and the journal names it.
  merge_request req;
  req.root = root;
  req.mid = "M001";
  req.tip = tip;
  std::string journal, lock_text;
  req.before_cas = [&] {
    journal = read_file(root + "/.git/sf-merge-checkout.json");
    lock_text = read_file(root + "/.git/index.lock");
  };
  auto before = rev(root, "main");
  REQUIRE(sf::io::merge_milestone(req));
  auto merged = rev(root, "main");
  sh("git update-ref refs/heads/main " + before, root);
  sh("git reset -q --hard " + before, root);
  sh("git update-ref refs/heads/main " + merged, root);
  REQUIRE(!journal.empty());
  write_file(root + "/.git/sf-merge-checkout.json", journal);
  auto journal_json = nlohmann::json::parse(journal);
  // The stale lock: its token is ours, but it is another file than the journaled one; a lock
  // that is not ours must never be removed. The file system may hand the freed inode number
  // to the new file; a placeholder then keeps that number while the lock is made again.
  write_file(root + "/.git/index.lock", lock_text);
  std::string placeholder = root + "/.git/sf-test-inode-holder";
  struct stat lock_stat {};
  REQUIRE(::stat((root + "/.git/index.lock").c_str(), &lock_stat) == 0);
  if (lock_stat.st_ino == journal_json.value("lockInode", uint64_t{0})) {
    REQUIRE(::rename((root + "/.git/index.lock").c_str(), placeholder.c_str()) == 0);
    write_file(root + "/.git/index.lock", lock_text);
    REQUIRE(::stat((root + "/.git/index.lock").c_str(), &lock_stat) == 0);
    ::unlink(placeholder.c_str());
  }
  REQUIRE(lock_stat.st_ino != journal_json.value("lockInode", uint64_t{0}));
  auto kept = sf::io::recover_checkouts(root);
  REQUIRE_FALSE(kept);
  CHECK(sf::code_of(kept.error()) == sf::ec::locked);
  CHECK(exists(root + "/.git/index.lock"));
  ::unlink((root + "/.git/index.lock").c_str());
  write_file(root + "/README.md", "edited by the user meanwhile\n");
  auto done = sf::io::recover_checkouts(root);
  REQUIRE(done);
  CHECK(done->find("finished bringing the checkout") != std::string::npos);
  CHECK(read_file(root + "/m.txt") == "m\n");
  CHECK(read_file(root + "/lines.txt").find("three") != std::string::npos);
  CHECK(sh("git status --porcelain --untracked-files=no", root) == " M README.md");
  CHECK_FALSE(exists(root + "/.git/sf-merge-checkout.json"));
  // Nothing left to do: a second look finds nothing.
  auto again = sf::io::recover_checkouts(root);
  REQUIRE(again);
  CHECK(again->empty());
}

TEST_CASE("a linked worktree that has main checked out is brought along, and guarded",
          "[merge][checkout]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  auto tip = make_repo(root);
  auto linked = tmp / "main-wt";
  sh("git switch -q -c side && git worktree add -q " + sh_quote(linked) + " main", root);
  auto checkouts = sf::io::list_checkouts(sf::io::open_repo(root)->get());
  REQUIRE(checkouts);
  REQUIRE(checkouts->size() == 2);
  CHECK((*checkouts)[1].head == "refs/heads/main");
  write_file(linked + "/m.txt", "mine\n");
  auto r = merge(root, tip);
  CHECK(r.kind == sf::core::merge_kind::dirty_checkout);
  CHECK(r.text.find(linked) != std::string::npos);
  ::unlink((linked + "/m.txt").c_str());
  write_file(linked + "/README.md", "edited in the linked worktree\n");
  REQUIRE(merge(root, tip).kind == sf::core::merge_kind::merged);
  CHECK(read_file(linked + "/m.txt") == "m\n");
  CHECK(sh("git status --porcelain", linked) == " M README.md");
  // The project folder, on another branch, was not touched.
  CHECK_FALSE(exists(root + "/m.txt"));
  CHECK(sh("git symbolic-ref HEAD", root) == "refs/heads/side");
}

TEST_CASE("the integration branch is decided once: switching the checkout never redirects a "
          "merge",
          "[merge][checkout]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  auto tip = make_repo(root);
  sh("git branch -m main trunk", root);
  auto rec = sf::io::record_integration_branch(root, "");
  REQUIRE(rec);
  CHECK(*rec == "trunk");
  CHECK(sh("git config sf-actors.integrationBranch", root) == "trunk");
  sh("git switch -q -c feature", root);
  auto feature = rev(root, "feature");
  auto r = merge(root, tip);
  REQUIRE(r.kind == sf::core::merge_kind::merged);
  CHECK(rev(root, "trunk") == r.commit);
  CHECK(rev(root, "feature") == feature);
  // The preference names another branch: it wins, and is recorded.
  CHECK(sf::io::record_integration_branch(root, "feature") == std::string{"feature"});
  CHECK(sh("git config sf-actors.integrationBranch", root) == "feature");
  auto missing = sf::io::record_integration_branch(root, "nope");
  REQUIRE_FALSE(missing);
  CHECK(sf::describe(missing.error()).find("'nope'") != std::string::npos);
  // A recorded branch that is gone is an error that names it, not a guess.
  sh("git switch -q trunk && git branch -D -q feature", root);
  auto repo = sf::io::open_repo(root);
  REQUIRE(repo);
  auto gone = sf::io::resolve_main_branch(repo->get());
  REQUIRE_FALSE(gone);
  CHECK(sf::describe(gone.error()).find("sf-actors.integrationBranch") != std::string::npos);
}

TEST_CASE("files behind an external filter are compared and written by git's own filter",
          "[merge][checkout]") {
  sf::test::temp_dir tmp;
  auto root = tmp.path();
  sf::test::init_git_repo(root);
  // A toy of git-lfs: the repository stores upper case, the checkout shows lower case.
  sh("git config filter.upper.clean 'tr a-z A-Z' && git config filter.upper.smudge 'tr A-Z a-z' "
     "&& echo '*.txt filter=upper' > .gitattributes && echo hello > x.txt && git add -A && "
     "git commit -qm base && git branch milestone/M001 && git switch -q milestone/M001 && "
     "echo world > x.txt && echo new > y.txt && git add -A && git commit -qm work && "
     "git switch -q main",
     root);
  CHECK(sh("git show main:x.txt", root) == "HELLO");
  auto tip = rev(root, "milestone/M001");
  SECTION("a clean file is not mistaken for the user's change, and is written smudged") {
    auto r = merge(root, tip);
    REQUIRE(r.kind == sf::core::merge_kind::merged);
    CHECK(read_file(root + "/x.txt") == "world\n");
    CHECK(read_file(root + "/y.txt") == "new\n");
    CHECK(sh("git status --porcelain", root).empty());
  }
  SECTION("a merge cut short after main moved is finished through the filter") {
    merge_request req;
    req.root = root;
    req.mid = "M001";
    req.tip = tip;
    std::string journal;
    req.before_cas = [&] { journal = read_file(root + "/.git/sf-merge-checkout.json"); };
    auto before = rev(root, "main");
    REQUIRE(sf::io::merge_milestone(req));
    auto merged = rev(root, "main");
    // The crash window: main names the merge, the checkout shows the old tree.
    sh("git reset -q --hard " + before + " && git update-ref refs/heads/main " + merged, root);
    REQUIRE(!journal.empty());
    write_file(root + "/.git/sf-merge-checkout.json", journal);
    REQUIRE(read_file(root + "/x.txt") == "hello\n");
    auto done = sf::io::recover_checkouts(root);
    REQUIRE(done);
    INFO(*done);
    CHECK(done->find("kept your own version") == std::string::npos);
    CHECK(read_file(root + "/x.txt") == "world\n");
    CHECK(read_file(root + "/y.txt") == "new\n");
    CHECK(sh("git status --porcelain --untracked-files=no", root).empty());
  }
  SECTION("a real change of the user's behind the filter still holds the merge") {
    write_file(root + "/x.txt", "mine\n");
    // Only git can compare it: git's own refusal, in its words.
    auto r = merge(root, tip);
    CHECK(r.kind == sf::core::merge_kind::blocked);
    CHECK(r.text.find("x.txt") != std::string::npos);
    CHECK(read_file(root + "/x.txt") == "mine\n");
  }
}

TEST_CASE("a folder on the way that is a symbolic link is never written through",
          "[merge][checkout]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  sh("mkdir docs && echo x > docs/x.md && echo y > docs/y.md && git add -A && git commit -qm base "
     "&& git branch milestone/M001 && git switch -q milestone/M001 && echo changed > docs/x.md && "
     "git rm -q docs/y.md && git commit -qam work && git switch -q main",
     root);
  auto tip = rev(root, "milestone/M001");
  auto elsewhere = tmp / "elsewhere";
  sh("mv docs " + sh_quote(elsewhere) + " && ln -s " + sh_quote(elsewhere) + " docs", root);
  auto before = rev(root, "main");
  auto r = merge(root, tip);
  CHECK(r.kind == sf::core::merge_kind::dirty_checkout);
  CHECK(rev(root, "main") == before);
  // Outside the project nothing changed.
  CHECK(read_file(elsewhere + "/x.md") == "x\n");
  CHECK(read_file(elsewhere + "/y.md") == "y\n");
}
