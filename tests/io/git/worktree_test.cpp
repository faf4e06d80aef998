#include "io/git/git.hpp"
#include "io/git/integration_branch.hpp"
#include "io/git/worktree.hpp"
#include "messages/error.hpp"
#include "support/run_ok.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using sf::test::run;
using sf::test::sh_quote;

namespace {

std::string sh(const std::string& cmd, const std::string& cwd) {
  return sf::test::run_ok(cmd, cwd);
}

/// A repository on `main` with nested folders, an executable, a symlink and an empty file.
void make_rich_repo(const std::string& root) {
  sf::test::init_git_repo(root);
  sf::test::write_file(root + "/src/a/b/deep.txt", "deep\n");
  sf::test::write_file(root + "/src/a/top.txt", "top\n");
  sf::test::write_file(root + "/run.sh", "#!/bin/sh\necho hi\n");
  sf::test::write_file(root + "/empty", "");
  sh("chmod +x run.sh && ln -s src/a/top.txt link && git add -A && git commit -qm rich", root);
}

std::string wt_of(const std::string& root, const std::string& mid) {
  return root + "/.sf/worktrees/" + mid;
}

bool exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

/// Entries of a folder, or an empty list when it does not exist.
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec))
    if (it->path().filename() != ".lock") // The creation lock stays; it holds nothing.
      out.push_back(it->path().filename().string());
  return out;
}

} // namespace

TEST_CASE("ensure_worktree creates a clean worktree on a new branch at main's tip", "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  make_rich_repo(root);
  auto info = sf::io::ensure_worktree(root, "M001");
  REQUIRE(info);
  auto wt = wt_of(root, "M001");
  CHECK(info->path == wt);
  CHECK(info->branch == "milestone/M001");
  CHECK(info->created_branch);
  CHECK(info->created_worktree);
  CHECK(info->head == sh("git rev-parse main", root));
  CHECK(sh("git rev-parse milestone/M001", root) == info->head);
  CHECK(sh("git rev-parse --abbrev-ref HEAD", wt) == "milestone/M001");
  CHECK(sh("git status --porcelain", wt).empty());
  // Same tree, same modes, same contents as the main checkout.
  CHECK(sh("git ls-files -s", wt) == sh("git ls-files -s", root));
  CHECK(sf::test::read_file(wt + "/src/a/b/deep.txt") == "deep\n");
  CHECK(sf::test::read_file(wt + "/empty").empty());
  CHECK(::access((wt + "/run.sh").c_str(), X_OK) == 0);
  CHECK(::access((wt + "/src/a/top.txt").c_str(), X_OK) != 0);
  CHECK(fs::is_symlink(wt + "/link"));
  CHECK(fs::read_symlink(wt + "/link") == "src/a/top.txt");
  // The index carries each written file's own stat data, so git need not re-read contents.
  for (const char* file : {"run.sh", "src/a/b/deep.txt", "link"}) {
    struct stat st;
    REQUIRE(::lstat((wt + "/" + file).c_str(), &st) == 0);
    auto debug = sh(std::string{"git ls-files --debug -- "} + file, wt);
    CHECK(debug.find("ino: " + std::to_string(st.st_ino)) != std::string::npos);
    CHECK(debug.find("mtime: " + std::to_string(st.st_mtim.tv_sec) + ":" +
                     std::to_string(st.st_mtim.tv_nsec)) != std::string::npos);
    CHECK(debug.find("size: " + std::to_string(st.st_size)) != std::string::npos);
  }
}

TEST_CASE("ensure_worktree writes every file of a tree spread over many folders", "[git]") {
  // The checkout threads take whole folders; files and subfolders interleave in tree order,
  // so one folder's files come in several runs.
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  std::vector<std::pair<std::string, std::string>> files;
  for (int d = 0; d < 40; ++d) {
    auto dir = "d" + std::to_string(d);
    for (const char* name : {"a.txt", "m/inner.txt", "m/n/leaf.txt", "z.txt"})
      files.emplace_back(dir + "/" + name, dir + " " + name + "\n");
  }
  files.emplace_back("top.txt", "top\n");
  for (const auto& [path, text] : files)
    sf::test::write_file(root + "/" + path, text);
  sh("git add -A && git commit -qm spread", root);
  auto info = sf::io::ensure_worktree(root, "M001");
  REQUIRE(info);
  auto wt = wt_of(root, "M001");
  for (const auto& [path, text] : files)
    CHECK(sf::test::read_file(wt + "/" + path) == text);
  CHECK(sh("git ls-files -s", wt) == sh("git ls-files -s", root));
  CHECK(sh("git status --porcelain", wt).empty());
}

TEST_CASE("ensure_worktree reuses an existing branch with its own commits", "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  sh("git checkout -q -b milestone/M001 && echo work > extra.txt && git add extra.txt && "
     "git commit -qm work && git checkout -q main",
     root);
  auto tip = sh("git rev-parse milestone/M001", root);
  REQUIRE(tip != sh("git rev-parse main", root));
  auto info = sf::io::ensure_worktree(root, "M001");
  REQUIRE(info);
  CHECK_FALSE(info->created_branch);
  CHECK(info->created_worktree);
  CHECK(info->head == tip);
  CHECK(sh("git rev-parse milestone/M001", root) == tip);
  auto wt = wt_of(root, "M001");
  CHECK(sh("git rev-parse HEAD", wt) == tip);
  CHECK(sf::test::read_file(wt + "/extra.txt") == "work\n");
  CHECK(sh("git status --porcelain", wt).empty());
}

TEST_CASE("ensure_worktree leaves an existing worktree and its uncommitted work alone", "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  REQUIRE(sf::io::ensure_worktree(root, "M001"));
  auto wt = wt_of(root, "M001");
  sf::test::write_file(wt + "/README", "changed by the worker\n");
  sf::test::write_file(wt + "/new.txt", "untracked\n");
  struct stat before;
  REQUIRE(::lstat((wt + "/README").c_str(), &before) == 0);
  auto again = sf::io::ensure_worktree(root, "M001");
  REQUIRE(again);
  CHECK_FALSE(again->created_branch);
  CHECK_FALSE(again->created_worktree);
  CHECK(sf::test::read_file(wt + "/README") == "changed by the worker\n");
  CHECK(sf::test::read_file(wt + "/new.txt") == "untracked\n");
  struct stat after;
  REQUIRE(::lstat((wt + "/README").c_str(), &after) == 0);
  CHECK(after.st_ino == before.st_ino);
  CHECK(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
  CHECK(sh("git status --porcelain", wt) == " M README\n?? new.txt");
}

TEST_CASE("an idle branch behind main is brought up to main, with its clean worktree", "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  // A start that failed before any unit: branch and worktree at an old commit, no work.
  REQUIRE(sf::io::ensure_worktree(root, "M001"));
  auto old_tip = sh("git rev-parse main", root);
  sf::test::write_file(root + "/plan.txt", "the plan, committed later\n");
  sh("git add plan.txt && git commit -qm plan", root);
  auto main_tip = sh("git rev-parse main", root);
  auto wt = wt_of(root, "M001");
  SECTION("with its worktree") {
    auto again = sf::io::ensure_worktree(root, "M001");
    REQUIRE(again);
    CHECK(again->refreshed_branch);
    CHECK_FALSE(again->created_worktree);
    CHECK(again->head == main_tip);
  }
  SECTION("without a worktree") {
    sh("git worktree remove " + sh_quote(wt), root);
    auto again = sf::io::ensure_worktree(root, "M001");
    REQUIRE(again);
    CHECK(again->refreshed_branch);
    CHECK(again->created_worktree);
  }
  CHECK(sh("git rev-parse milestone/M001", root) == main_tip);
  CHECK(sh("git rev-parse HEAD", wt) == main_tip);
  CHECK(sf::test::read_file(wt + "/plan.txt") == "the plan, committed later\n");
  CHECK(sh("git status --porcelain", wt).empty());
  // Nothing is lost: the old tip is an ancestor of the new one.
  CHECK(run("git merge-base --is-ancestor " + old_tip + " milestone/M001", root).exit_code == 0);
}

TEST_CASE("an idle branch whose worktree holds uncommitted work is left alone", "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  REQUIRE(sf::io::ensure_worktree(root, "M001"));
  auto old_tip = sh("git rev-parse main", root);
  auto wt = wt_of(root, "M001");
  sf::test::write_file(wt + "/half.txt", "a unit's work, not committed yet\n");
  sf::test::write_file(root + "/later.txt", "later\n");
  sh("git add later.txt && git commit -qm later", root);
  auto again = sf::io::ensure_worktree(root, "M001");
  REQUIRE(again);
  CHECK_FALSE(again->refreshed_branch);
  CHECK(again->head == old_tip);
  CHECK(sh("git rev-parse milestone/M001", root) == old_tip);
  CHECK(sf::test::read_file(wt + "/half.txt") == "a unit's work, not committed yet\n");
  CHECK(sh("git status --porcelain", wt) == "?? half.txt");
}

TEST_CASE("ensure_worktree re-adds a worktree whose folder was deleted", "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  REQUIRE(sf::io::ensure_worktree(root, "M001"));
  auto wt = wt_of(root, "M001");
  fs::remove_all(wt);
  auto info = sf::io::ensure_worktree(root, "M001");
  REQUIRE(info);
  CHECK(info->created_worktree);
  CHECK_FALSE(info->created_branch);
  CHECK(sf::test::read_file(wt + "/README") == "seed\n");
  CHECK(sh("git status --porcelain", wt).empty());
  CHECK(sh("git worktree list --porcelain", root).find(wt) != std::string::npos);
}

TEST_CASE("ensure_worktree recreates a half-created folder", "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  auto wt = wt_of(root, "M001");
  SECTION("an empty folder") {
    fs::create_directories(wt);
  }
  SECTION("a folder with only a stale .git link") {
    sf::test::write_file(wt + "/.git", "gitdir: /nowhere\n");
  }
  auto info = sf::io::ensure_worktree(root, "M001");
  REQUIRE(info);
  CHECK(info->created_worktree);
  CHECK(sf::test::read_file(wt + "/README") == "seed\n");
  CHECK(sh("git status --porcelain", wt).empty());
}

TEST_CASE("ensure_worktree refuses a folder holding user files", "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  auto wt = wt_of(root, "M001");
  sf::test::write_file(wt + "/notes.txt", "mine\n");
  auto info = sf::io::ensure_worktree(root, "M001");
  REQUIRE_FALSE(info);
  CHECK(sf::code_of(info.error()) == sf::ec::unsafe_path);
  CHECK(sf::describe(info.error()).find(wt) != std::string::npos);
  CHECK(sf::test::read_file(wt + "/notes.txt") == "mine\n");
  CHECK(entries(wt) == std::vector<std::string>{"notes.txt"});
  CHECK(entries(root + "/.git/worktrees").empty());
  // The branch made for this attempt is gone again.
  CHECK(sh("git branch --list 'milestone/*'", root).empty());
}

TEST_CASE("ensure_worktree and remove_worktree refuse hostile ids before touching disk",
          "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  for (const std::string& id :
       {std::string{"../x"}, std::string{"-rf"}, std::string(300, 'a'), std::string{"a\nb"},
        std::string{""}, std::string{"a/b"}, std::string{".git"}, std::string{"1abc"}}) {
    INFO("id: " << id);
    auto info = sf::io::ensure_worktree(root, id);
    REQUIRE_FALSE(info);
    CHECK(sf::code_of(info.error()) == sf::ec::invalid_input);
    CHECK(sf::code_of(sf::io::remove_worktree(root, id)) == sf::ec::invalid_input);
  }
  CHECK_FALSE(exists(root + "/.sf"));
  CHECK_FALSE(exists(root + "/.git/worktrees"));
  CHECK_FALSE(exists(tmp / "x"));
  CHECK(sh("git branch --list 'milestone/*'", root).empty());
  // The longest legal id is accepted.
  std::string longest = "M" + std::string(63, '9');
  CHECK(sf::io::ensure_worktree(root, longest));
}

TEST_CASE("resolve_main_branch prefers main, then master, then HEAD's branch", "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  auto resolve = [&]() -> caf::expected<std::string> {
    auto repo = sf::io::open_repo(root);
    REQUIRE(repo);
    return sf::io::resolve_main_branch(repo->get());
  };
  CHECK(resolve() == std::string{"main"});
  sh("git branch -m main master", root);
  CHECK(resolve() == std::string{"master"});
  auto info = sf::io::ensure_worktree(root, "M001");
  REQUIRE(info);
  CHECK(info->head == sh("git rev-parse master", root));
  sh("git branch -m master trunk", root);
  CHECK(resolve() == std::string{"trunk"});
  sh("git checkout -q --detach", root);
  auto detached = resolve();
  REQUIRE_FALSE(detached);
  CHECK(sf::describe(detached.error()).find("detached") != std::string::npos);
  sf::test::temp_dir empty;
  sh("git init -q -b trunk .", empty.path());
  auto repo = sf::io::open_repo(empty.path());
  REQUIRE(repo);
  auto unborn = sf::io::resolve_main_branch(repo->get());
  REQUIRE_FALSE(unborn);
  CHECK(sf::describe(unborn.error()).find("no commit yet") != std::string::npos);
  CHECK_FALSE(sf::io::open_repo(tmp / "missing"));
}

TEST_CASE("ensure_worktree undoes its work when the checkout fails", "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  // A tree with a name git would refuse to write (".GIT"), made the tip of main.
  auto blob = sh("echo x | git hash-object -w --stdin", root);
  auto tree = sh("printf '100644 blob " + blob + "\\t.GIT\\n' | git mktree", root);
  auto commit = sh("git commit-tree " + tree + " -p HEAD -m bad", root);
  sh("git update-ref refs/heads/main " + commit, root);
  auto info = sf::io::ensure_worktree(root, "M001");
  REQUIRE_FALSE(info);
  CHECK(sf::code_of(info.error()) == sf::ec::unsafe_path);
  CHECK(entries(root + "/.sf/worktrees").empty());
  CHECK(entries(root + "/.git/worktrees").empty());
  CHECK(sh("git branch --list 'milestone/*'", root).empty());
  // A branch that existed before is kept.
  sh("git branch milestone/M002 main", root);
  REQUIRE_FALSE(sf::io::ensure_worktree(root, "M002"));
  CHECK(sh("git rev-parse milestone/M002", root) == commit);
  CHECK(entries(root + "/.sf/worktrees").empty());
}

TEST_CASE("a stopped creation ends its checkout and undoes the half-made worktree", "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  sh("mkdir -p a b && for i in $(seq 1 200); do echo $i > a/$i.txt; echo $i > b/$i.txt; done && "
     "git add -A && git commit -qm files",
     root);
  for (const char* attrs : {"", "*.txt text eol=crlf\n"}) {
    CAPTURE(attrs);
    if (*attrs != '\0') // The other road: libgit2's own checkout, for filtered trees.
      sh("printf '" + std::string{attrs} + "' > .gitattributes && git add -A && git commit -qm a",
         root);
    std::atomic<bool> stop{true};
    auto info = sf::io::ensure_worktree(root, "M001", &stop);
    REQUIRE_FALSE(info);
    CHECK(sf::code_of(info.error()) == sf::ec::unavailable);
    CHECK(entries(root + "/.sf/worktrees").empty());
    CHECK(entries(root + "/.git/worktrees").empty());
    CHECK(sh("git branch --list 'milestone/*'", root).empty());
    // Unstopped, the same creation works.
    stop = false;
    auto again = sf::io::ensure_worktree(root, "M001", &stop);
    REQUIRE(again);
    CHECK(std::filesystem::exists(again->path + "/b/200.txt"));
    REQUIRE(sf::io::remove_worktree(root, "M001") == caf::none);
    sh("git branch -D -q milestone/M001", root);
  }
}

TEST_CASE("ensure_worktree honors .gitattributes through libgit2's checkout", "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  sf::test::write_file(root + "/.gitattributes", "*.txt text eol=crlf\n");
  sf::test::write_file(root + "/a.txt", "one\ntwo\n");
  sh("git add -A && git commit -qm attrs", root);
  auto info = sf::io::ensure_worktree(root, "M001");
  INFO((info ? std::string{} : sf::describe(info.error())));
  REQUIRE(info);
  auto wt = wt_of(root, "M001");
  CHECK(sf::test::read_file(wt + "/a.txt") == "one\r\ntwo\r\n");
  CHECK(sh("git status --porcelain", wt).empty());
}

TEST_CASE("remove_worktree keeps uncommitted work and the branch", "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  REQUIRE(sf::io::ensure_worktree(root, "M001"));
  auto wt = wt_of(root, "M001");
  sh("git commit -q --allow-empty -m done", wt);
  auto tip = sh("git rev-parse HEAD", wt);

  sf::test::write_file(wt + "/README", "edited\n");
  auto err = sf::io::remove_worktree(root, "M001");
  CHECK(sf::code_of(err) == sf::ec::invalid_input);
  CHECK(sf::describe(err).find("README") != std::string::npos);
  CHECK(sf::test::read_file(wt + "/README") == "edited\n");
  sh("git checkout -- README", wt);

  sf::test::write_file(wt + "/src/new.txt", "new\n");
  CHECK(sf::code_of(sf::io::remove_worktree(root, "M001")) == sf::ec::invalid_input);
  CHECK(exists(wt + "/src/new.txt"));
  fs::remove_all(wt + "/src");

  // The worker's lock file is runtime state, not work.
  sf::test::write_file(wt + "/.sf/auto.lock", "123\n");
  auto removed = sf::io::remove_worktree(root, "M001");
  INFO(sf::describe(removed));
  REQUIRE_FALSE(removed);
  CHECK_FALSE(exists(wt));
  CHECK(entries(root + "/.sf/worktrees").empty()); // No trash left behind.
  CHECK_FALSE(exists(root + "/.git/worktrees/M001"));
  CHECK(sh("git rev-parse milestone/M001", root) == tip);
  // Removing again is harmless, and the worktree can come back on the kept branch.
  CHECK_FALSE(sf::io::remove_worktree(root, "M001"));
  auto back = sf::io::ensure_worktree(root, "M001");
  REQUIRE(back);
  CHECK(back->head == tip);
}

TEST_CASE("ensure_worktree redoes a creation that was interrupted", "[git]") {
  sf::test::temp_dir tmp;
  auto root = tmp / "repo";
  make_rich_repo(root);
  REQUIRE(sf::io::ensure_worktree(root, "M001"));
  auto wt = wt_of(root, "M001");
  SECTION("killed during the checkout: the marker is still there, some files are missing") {
    sf::test::write_file(root + "/.git/worktrees/M001/sf-checkout-incomplete", "");
    fs::remove_all(wt + "/src");
  }
  SECTION("killed right after git_worktree_add: only the .git link exists") {
    for (const auto& name : entries(wt))
      if (name != ".git")
        fs::remove_all(wt + "/" + name);
  }
  auto info = sf::io::ensure_worktree(root, "M001");
  REQUIRE(info);
  CHECK(info->created_worktree);
  CHECK(sf::test::read_file(wt + "/src/a/b/deep.txt") == "deep\n");
  CHECK(sh("git status --porcelain", wt).empty());
  CHECK_FALSE(exists(root + "/.git/worktrees/M001/sf-checkout-incomplete"));
}

TEST_CASE("worktrees created while others are removed all succeed", "[git]") {
  // libgit2 1.5's worktree_add walks the registered worktrees to see whether the branch is
  // checked out, and an entry that vanishes between listing and reading makes that walk return
  // 1 ("reference is already checked out"; an operator-precedence slip in
  // git_repository_foreach_worktree). Seen when the merge queue removed a merged worktree as
  // the next milestone's was created. Creation and removal now share one lock per project.
  // Two threads each create and remove their own worktrees over and over, so the two kinds of
  // step overlap many times; the window is narrow, so this guards more than it reproduces.
  sf::test::temp_dir dir;
  const auto& root = dir.path();
  sf::test::init_git_repo(root);
  constexpr int rounds = 60;
  auto churn = [&root](const std::string& prefix, std::vector<std::string>& errors) {
    for (int i = 0; i < rounds; ++i) {
      auto mid = prefix + std::to_string(i);
      if (auto created = sf::io::ensure_worktree(root, mid); !created)
        errors.push_back("create " + mid + ": " + sf::describe(created.error()));
      else if (auto err = sf::io::remove_worktree(root, mid))
        errors.push_back("remove " + mid + ": " + sf::describe(err));
    }
  };
  std::vector<std::string> errors_a, errors_b;
  std::thread other([&] { churn("A", errors_a); });
  churn("B", errors_b);
  other.join();
  for (const auto& e : errors_a)
    FAIL_CHECK(e);
  for (const auto& e : errors_b)
    FAIL_CHECK(e);
  CHECK(errors_a.empty());
  CHECK(errors_b.empty());
  CHECK_FALSE(exists(wt_of(root, "A" + std::to_string(rounds - 1))));
}
