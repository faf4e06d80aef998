#include "io/git/branch_changes.hpp"

#include "config/escape.hpp"
#include "core/milestone_id.hpp"
#include "io/git/git.hpp"
#include "io/git/milestone_branch.hpp"
#include "messages/error.hpp"

#include <algorithm>
#include <set>

namespace sf::io {

namespace {

using diff_ptr = std::unique_ptr<git_diff, git_deleter<git_diff, git_diff_free>>;

caf::expected<tree_ptr> tree_of(git_repository* repo, const git_oid& commit_id,
                                const std::string& what) {
  git_commit* raw_commit = nullptr;
  if (git_commit_lookup(&raw_commit, repo, &commit_id) != 0)
    return git_fail("cannot read commit of", what);
  commit_ptr commit{raw_commit};
  git_tree* raw_tree = nullptr;
  if (git_commit_tree(&raw_tree, commit.get()) != 0)
    return git_fail("cannot read tree of", what);
  return tree_ptr{raw_tree};
}

bool ours(const char* path) {
  return path != nullptr && std::string_view(path).rfind(".sf/", 0) != 0;
}

} // namespace

caf::expected<std::optional<branch_change_set>> read_branch_changes(git_repository* repo,
                                                                    const std::string& mid) {
  if (!core::valid_milestone_id(mid))
    return make_error(ec::invalid_input, "milestone " + core::not_a_milestone_id(escape_text(mid)));
  const auto ref_name = "refs/heads/milestone/" + mid;
  git_oid tip;
  int rc = git_reference_name_to_id(&tip, repo, ref_name.c_str());
  if (rc == GIT_ENOTFOUND)
    return std::optional<branch_change_set>{};
  if (rc != 0)
    return git_fail("reading", ref_name);
  auto found = merge_base_with_main(repo, tip, mid);
  if (!found)
    return found.error();
  if (!*found)
    return make_error(ec::invalid_input, "branch milestone/" + mid +
                                           " shares no history with the integration branch");
  const git_oid base = **found;
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof hex, &tip);
  branch_change_set out;
  out.tip = hex;
  if (git_oid_equal(&base, &tip))
    return std::optional<branch_change_set>{std::move(out)};
  auto base_tree = tree_of(repo, base, "the merge base of " + ref_name);
  if (!base_tree)
    return base_tree.error();
  auto tip_tree = tree_of(repo, tip, ref_name);
  if (!tip_tree)
    return tip_tree.error();
  git_diff* raw_diff = nullptr;
  if (git_diff_tree_to_tree(&raw_diff, repo, base_tree->get(), tip_tree->get(), nullptr) != 0)
    return git_fail("comparing with its merge base", ref_name);
  diff_ptr diff{raw_diff};
  std::set<std::string> files;
  for (size_t i = 0, n = git_diff_num_deltas(diff.get()); i < n; ++i) {
    const git_diff_delta* d = git_diff_get_delta(diff.get(), i);
    for (const char* path : {d->old_file.path, d->new_file.path})
      if (ours(path))
        files.insert(path);
  }
  out.files.assign(files.begin(), files.end());
  return std::optional<branch_change_set>{std::move(out)};
}

caf::expected<std::optional<branch_change_set>> read_branch_changes(const std::string& root,
                                                                    const std::string& mid) {
  auto repo = open_repo(root);
  if (!repo)
    return repo.error();
  return read_branch_changes(repo->get(), mid);
}

} // namespace sf::io
