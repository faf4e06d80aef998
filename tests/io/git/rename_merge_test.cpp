// Renames in the tree merge, each case in a real repository and checked against git's own merge
// (`git merge-tree --write-tree`): the same tree when git merges cleanly, the same paths when not.
#include "io/git/git.hpp"
#include "io/git/merge.hpp"
#include "io/git/rename_align.hpp"
#include "io/git/tree_merge.hpp"
#include "messages/error.hpp"
#include "support/run_ok.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <sstream>
#include <string>
#include <vector>

using sf::test::run;

namespace {

std::string sh(const std::string& cmd, const std::string& cwd) {
  return sf::test::run_ok(cmd, cwd);
}

/// A repository whose main and milestone/M001 each ran their script on a common base commit.
void history(const std::string& root, const std::string& base, const std::string& ours,
             const std::string& theirs) {
  sf::test::init_git_repo(root);
  sh(base + " && git add -A && git commit -qm base && git branch milestone/M001 && " + ours +
       " && git add -A && git commit -qm ours && git switch -q milestone/M001 && " + theirs +
       " && git add -A && git commit -qm theirs && git switch -q main",
     root);
}

/// git's merge of the milestone into main: the tree, and the conflicted paths (empty: clean).
struct git_result {
  std::string tree;
  std::set<std::string> conflicts;
};

git_result git_merge(const std::string& root) {
  auto r = run("git merge-tree --write-tree --name-only --no-messages main milestone/M001", root);
  REQUIRE((r.exit_code == 0 || r.exit_code == 1));
  git_result g;
  std::istringstream in{r.out};
  std::getline(in, g.tree);
  for (std::string line; std::getline(in, line) && !line.empty();)
    g.conflicts.insert(line);
  return g;
}

sf::io::tree_ptr tree_of(git_repository* repo, const std::string& root, const std::string& rev) {
  auto hex = sh("git rev-parse " + rev + "^{tree}", root);
  git_oid id;
  REQUIRE(git_oid_fromstr(&id, hex.c_str()) == 0);
  git_tree* raw = nullptr;
  REQUIRE(git_tree_lookup(&raw, repo, &id) == 0);
  return sf::io::tree_ptr{raw};
}

/// Our merge of the milestone into main, in git's terms.
git_result our_merge(const std::string& root) {
  sf::io::git_init_once();
  auto repo = sf::io::open_repo(root);
  REQUIRE(repo);
  auto base = tree_of(repo->get(), root, "$(git merge-base main milestone/M001)");
  auto ours = tree_of(repo->get(), root, "main");
  auto theirs = tree_of(repo->get(), root, "milestone/M001");
  auto m = sf::io::tree_merge(repo->get(), base.get(), ours.get(), theirs.get());
  REQUIRE(m);
  git_result r;
  char buf[GIT_OID_HEXSZ + 1];
  r.tree = git_oid_tostr(buf, sizeof buf, &m->tree);
  r.conflicts.insert(m->conflicts.begin(), m->conflicts.end());
  return r;
}

/// Checks that both merges agree; gives git's conflicts.
std::set<std::string> agree(const std::string& root) {
  auto g = git_merge(root);
  auto o = our_merge(root);
  CHECK(o.conflicts == g.conflicts);
  if (g.conflicts.empty())
    CHECK(o.tree == g.tree);
  return g.conflicts;
}

const char* text = "seq 1 12 > ";

} // namespace

TEST_CASE("a file renamed on one side and edited on the other merges into the new path",
          "[merge][renames]") {
  sf::test::temp_dir d;
  history(d.path(), std::string("mkdir a && ") + text + "a/f.txt",
          "mkdir b && git mv a/f.txt b/g.txt", "sed -i 's/^3$/three/' a/f.txt");
  CHECK(agree(d.path()).empty());
  CHECK(sh("git show $(git merge-tree --write-tree main milestone/M001):b/g.txt | sed -n 3p",
           d.path()) == "three");
}

TEST_CASE("a rename with an edit meets an edit of the old path", "[merge][renames]") {
  sf::test::temp_dir d;
  history(d.path(), std::string(text) + "f.txt",
          "sed -i 's/^3$/three/' f.txt", "git mv f.txt g.txt && sed -i 's/^11$/eleven/' g.txt");
  CHECK(agree(d.path()).empty());
}

TEST_CASE("both sides renaming a file the same way merge their edits", "[merge][renames]") {
  sf::test::temp_dir d;
  history(d.path(), std::string(text) + "f.txt",
          "git mv f.txt g.txt && sed -i 's/^2$/two/' g.txt",
          "git mv f.txt g.txt && sed -i 's/^10$/ten/' g.txt");
  CHECK(agree(d.path()).empty());
}

TEST_CASE("rename/delete conflicts on the new path", "[merge][renames]") {
  sf::test::temp_dir d;
  history(d.path(), std::string(text) + "f.txt && echo k > keep", "git mv f.txt g.txt",
          "git rm -q f.txt");
  CHECK(agree(d.path()) == std::set<std::string>{"g.txt"});
}

TEST_CASE("rename/rename to two paths conflicts on the old path and both new ones",
          "[merge][renames]") {
  sf::test::temp_dir d;
  history(d.path(), std::string(text) + "f.txt", "git mv f.txt g.txt", "git mv f.txt h.txt");
  CHECK(agree(d.path()) == std::set<std::string>{"f.txt", "g.txt", "h.txt"});
}

TEST_CASE("rename/add conflicts on the new path", "[merge][renames]") {
  sf::test::temp_dir d;
  history(d.path(), std::string(text) + "f.txt", "git mv f.txt g.txt",
          "echo new > g.txt && sed -i 's/^4$/four/' f.txt");
  CHECK(agree(d.path()) == std::set<std::string>{"g.txt"});
}

TEST_CASE("two files renamed onto one path conflict there", "[merge][renames]") {
  sf::test::temp_dir d;
  history(d.path(), std::string(text) + "f.txt && seq 20 31 > e.txt", "git mv f.txt g.txt",
          "git mv e.txt g.txt");
  CHECK(agree(d.path()) == std::set<std::string>{"g.txt"});
}

TEST_CASE("a renamed file that became a link on the other side conflicts on the new path",
          "[merge][renames]") {
  sf::test::temp_dir d;
  history(d.path(), std::string(text) + "f.txt", "git mv f.txt g.txt",
          "rm f.txt && ln -s target f.txt");
  CHECK(agree(d.path()) == std::set<std::string>{"g.txt"});
}

TEST_CASE("a rename into a folder where a renamed file was applies in two steps",
          "[merge][renames]") {
  // `d` is a file that moves away and `d/x.txt` a file that moves in: the removal must come
  // first or the new folder has no room.
  sf::test::temp_dir d;
  history(d.path(), std::string(text) + "d && seq 40 52 > x.txt",
          "git mv d e && mkdir d && git mv x.txt d/x.txt",
          "sed -i 's/^5$/five/' d && sed -i 's/^45$/x45/' x.txt");
  CHECK(agree(d.path()).empty());
}

TEST_CASE("a rename merge writes no object but those of its merged tree", "[merge][renames]") {
  // Following the rename rewrites the base and ours (the file moves to c/g.txt in both); those
  // trees are only the merge's input: written, each would cost an fsync and stay unreferenced.
  sf::test::temp_dir d;
  auto root = d.path();
  history(root, std::string("mkdir a b && ") + text + "a/f.txt && seq 30 41 > b/keep.txt",
          "sed -i 's/^3$/three/' a/f.txt",
          "mkdir c && git mv a/f.txt c/g.txt && sed -i 's/^11$/eleven/' c/g.txt");
  auto ids = [&](const std::string& cmd) {
    std::set<std::string> out;
    std::istringstream in{sh(cmd, root)};
    for (std::string line; std::getline(in, line);)
      out.insert(line);
    return out;
  };
  auto all_objects = "git cat-file --batch-all-objects --batch-check='%(objectname)'";
  auto before = ids(all_objects);
  auto ours = our_merge(root);
  REQUIRE(ours.conflicts.empty());
  auto after = ids(all_objects);
  auto held = ids("git ls-tree -r -t " + ours.tree + " | awk '{print $3}'");
  held.insert(ours.tree);
  std::vector<std::string> stray;
  for (const auto& id : after)
    if (before.count(id) == 0 && held.count(id) == 0)
      stray.push_back(id);
  CHECK(stray.empty());
  CHECK(after.size() > before.size()); // The merged file and its folders were written.
  CHECK(agree(root).empty());
}

TEST_CASE("of two identical files, an exact rename takes the first by path",
          "[merge][renames]") {
  sf::test::temp_dir d;
  history(d.path(), std::string("mkdir a b && ") + text + "a/f.txt && " + text + "b/f.txt",
          "mkdir c && git mv b/f.txt c/f.txt && git rm -q a/f.txt",
          "sed -i 's/^1$/one/' a/f.txt && sed -i 's/^12$/twelve/' b/f.txt");
  CHECK(agree(d.path()) == std::set<std::string>{"b/f.txt"});
}

TEST_CASE("find_renames pairs exact and similar renames and skips the .sf folder",
          "[merge][renames]") {
  sf::test::temp_dir d;
  history(d.path(),
          std::string("mkdir -p .sf src && ") + text + "src/a.txt && seq 100 130 > src/b.txt && " +
            text + ".sf/state.txt && echo k > keep",
          "sed -i 's/^1$/one/' src/a.txt && sed -i 's/^101$/x/' src/b.txt && "
          "sed -i 's/^2$/two/' .sf/state.txt",
          "mkdir -p lib .sf/moved && git mv src/a.txt lib/a.txt && git mv src/b.txt lib/c.txt && "
          "sed -i 's/^130$/y/' lib/c.txt && git mv .sf/state.txt .sf/moved/state.txt");
  sf::io::git_init_once();
  auto repo = sf::io::open_repo(d.path());
  REQUIRE(repo);
  auto base = tree_of(repo->get(), d.path(), "main~1");
  auto ours = tree_of(repo->get(), d.path(), "main");
  auto theirs = tree_of(repo->get(), d.path(), "milestone/M001");
  sf::io::tree_store store{repo->get()};
  auto r = sf::io::find_renames(store, base.get(), theirs.get(), ours.get());
  REQUIRE(r);
  REQUIRE(r->size() == 2);
  CHECK((*r)[0].from == "src/a.txt");
  CHECK((*r)[0].to == "lib/a.txt");
  CHECK((*r)[0].score == 60000);
  CHECK((*r)[1].from == "src/b.txt");
  CHECK((*r)[1].to == "lib/c.txt");
  CHECK((*r)[1].score < 60000);
  // Nothing the other side touched: merge-ort looks for no renames at all.
  auto none = sf::io::find_renames(store, base.get(), theirs.get(), base.get());
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("merge_milestone merges a milestone's rename with main's edit of the file",
          "[merge][renames]") {
  sf::test::temp_dir d;
  auto root = d.path();
  history(root, std::string("mkdir src && ") + text + "src/old.txt",
          "sed -i 's/^6$/six/' src/old.txt", "git mv src/old.txt src/new.txt");
  auto expected = git_merge(root);
  REQUIRE(expected.conflicts.empty());
  sf::io::merge_request req;
  req.root = root;
  req.mid = "M001";
  req.tip = sh("git rev-parse milestone/M001", root);
  req.message = "Merge milestone/M001";
  auto r = sf::io::merge_milestone(req);
  INFO((r ? r->text : sf::describe(r.error())));
  REQUIRE(r);
  CHECK(r->kind == sf::core::merge_kind::merged);
  CHECK(sh("git rev-parse main^{tree}", root) == expected.tree);
  // main's checkout follows: the file is at its new path with main's edit.
  CHECK(sh("sed -n 6p src/new.txt", root) == "six");
  CHECK(run("test -e src/old.txt", root).exit_code != 0);
}
