#include "io/git/merge_hook.hpp"

#include "io/git/git.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <unistd.h>

namespace sf::io {

namespace {

// The temporary index goes with its scope, whatever the hook did (its lock too).
struct temp_index {
  std::string path;
  ~temp_index() {
    ::unlink(path.c_str());
    ::unlink((path + ".lock").c_str());
  }
};

} // namespace

caf::expected<merge_hook_verdict> run_pre_merge_commit(git_repository* repo,
                                                       const std::string& root,
                                                       const git_oid& tree,
                                                       const std::string& branch,
                                                       const std::string& main,
                                                       const git_hook_settings& settings) {
  merge_hook_verdict out;
  if (!settings.enabled)
    return out;
  auto exists = git_hook_exists(repo, "pre-merge-commit", root);
  if (!exists)
    return std::move(exists.error());
  if (!*exists)
    return out;
  // A fresh random name in the common git dir: never an existing file, never a link.
  temp_index tmp{std::string{git_repository_commondir(repo)} + "sf-index.pre-merge-commit." +
                 random_hex()};
  git_index* raw = nullptr;
  if (git_index_open(&raw, tmp.path.c_str()) != 0)
    return git_fail("making a temporary index for the pre-merge-commit hook", tmp.path);
  index_ptr index{raw};
  git_tree* raw_tree = nullptr;
  if (git_tree_lookup(&raw_tree, repo, &tree) != 0)
    return git_fail("reading the merged tree for the pre-merge-commit hook", branch);
  tree_ptr merged{raw_tree};
  if (git_index_read_tree(index.get(), merged.get()) != 0 || git_index_write(index.get()) != 0)
    return git_fail("writing the temporary index for the pre-merge-commit hook", tmp.path);
  git_hook_call call;
  call.name = "pre-merge-commit";
  call.top = root;
  call.env = {"GIT_INDEX_FILE=" + tmp.path, "GIT_REFLOG_ACTION=merge " + branch};
  auto h = run_git_hook(repo, call, settings);
  if (!h)
    return std::move(h.error());
  out.note = h->hint;
  if (auto dir = git_hooks_dir(repo, root))
    out.watch = {*dir};
  if (h->stopped)
    return make_error(ec::unavailable, "the pre-merge-commit hook of the merge of " + branch +
                                         " was stopped; " + main + " was not moved");
  const std::string kept = "; " + main + " was not moved and " + branch + " is kept";
  if (!h->ok) {
    out.ok = false;
    out.text = h->failure("pre-merge-commit") + kept + ": fix what it reports (or the hook); "
               "`git_hooks: false` in .sf/PREFERENCES.md turns git hooks off";
    return out;
  }
  if (!h->ran)
    return out;
  git_oid after;
  if (git_index_read(index.get(), 1) != 0 ||
      git_index_write_tree_to(&after, index.get(), repo) != 0)
    return git_fail("reading the index the pre-merge-commit hook left", tmp.path);
  if (git_oid_equal(&after, &tree) == 0) {
    out.ok = false;
    out.text = "the pre-merge-commit hook (" + h->path + ") changed the merge's index, but " +
               "sf-actors merges outside any checkout and takes nothing a hook stages" + kept +
               ": make the change on " + branch + " (or keep the hook from staging files in "
               "sf-actors merges)";
  }
  return out;
}

} // namespace sf::io
