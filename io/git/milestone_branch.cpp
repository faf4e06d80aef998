#include "io/git/milestone_branch.hpp"

#include "config/escape.hpp"
#include "core/milestone_id.hpp"
#include "core/sf_paths.hpp"
#include "io/git/git.hpp"
#include "io/git/integration_branch.hpp"
#include "messages/error.hpp"

#include <git2.h>

namespace sf::io {

namespace {

std::string hex(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

} // namespace

caf::expected<std::optional<git_oid>> merge_base_with_main(git_repository* repo,
                                                           const git_oid& tip,
                                                           const std::string& mid) {
  auto main = resolve_main_branch(repo);
  if (!main)
    return main.error();
  git_oid main_oid, base;
  if (git_reference_name_to_id(&main_oid, repo, ("refs/heads/" + *main).c_str()) != 0)
    return git_fail("reading", "refs/heads/" + *main);
  int rc = git_merge_base(&base, repo, &tip, &main_oid);
  if (rc == GIT_ENOTFOUND)
    return std::optional<git_oid>{};
  if (rc != 0)
    return git_fail("finding the merge base", "milestone/" + mid + " and " + *main);
  return std::optional<git_oid>{base};
}

caf::error check_branch_history(git_repository* repo, const std::string& mid) {
  git_oid tip;
  auto ref_name = "refs/heads/milestone/" + mid;
  int rc = git_reference_name_to_id(&tip, repo, ref_name.c_str());
  if (rc == GIT_ENOTFOUND)
    return {};
  if (rc != 0)
    return git_fail("reading", ref_name);
  auto base = merge_base_with_main(repo, tip, mid);
  if (!base)
    return base.error();
  if (*base)
    return {};
  auto main = resolve_main_branch(repo);
  if (!main)
    return main.error();
  return make_error(ec::invalid_input,
                    "branch milestone/" + mid + " exists in " + git_repository_commondir(repo) +
                      " but shares no history with " + *main +
                      ", so a worker would start without the plan; rename it (git branch -m "
                      "milestone/" + mid + " <other name>) or delete it if it holds nothing you "
                      "need, and sf-actors makes milestone/" + mid + " from " + *main);
}

caf::expected<std::optional<branch_state>> read_milestone_branch(const std::string& root,
                                                                 const std::string& mid) {
  if (!core::valid_milestone_id(mid))
    return make_error(ec::invalid_input, "milestone " + core::not_a_milestone_id(escape_text(mid)));
  auto repo = open_repo(root);
  if (!repo)
    return repo.error();
  return read_milestone_branch(repo->get(), mid);
}

namespace {

// The tip of `milestone/<mid>`, empty when there is no such branch; `mid` must keep the rule.
caf::expected<std::optional<git_oid>> branch_tip(git_repository* repo, const std::string& mid) {
  if (!core::valid_milestone_id(mid))
    return make_error(ec::invalid_input, "milestone " + core::not_a_milestone_id(escape_text(mid)));
  git_oid tip;
  auto ref_name = "refs/heads/milestone/" + mid;
  int rc = git_reference_name_to_id(&tip, repo, ref_name.c_str());
  if (rc == GIT_ENOTFOUND)
    return std::optional<git_oid>{};
  if (rc != 0)
    return git_fail("reading", ref_name);
  return std::optional<git_oid>{tip};
}

// Whether `tip` is the integration branch's tip or one of its ancestors.
caf::expected<bool> on_main(git_repository* repo, const git_oid& tip) {
  auto main = resolve_main_branch(repo);
  if (!main)
    return main.error();
  git_oid main_oid;
  if (git_reference_name_to_id(&main_oid, repo, ("refs/heads/" + *main).c_str()) != 0)
    return git_fail("reading", "refs/heads/" + *main);
  return git_oid_equal(&main_oid, &tip) || git_graph_descendant_of(repo, &main_oid, &tip) == 1;
}

} // namespace

caf::expected<std::optional<bool>> milestone_merged(git_repository* repo, const std::string& mid) {
  auto tip = branch_tip(repo, mid);
  if (!tip)
    return tip.error();
  if (!*tip)
    return std::optional<bool>{};
  auto merged = on_main(repo, **tip);
  if (!merged)
    return merged.error();
  return std::optional<bool>{*merged};
}

caf::expected<std::optional<branch_state>> read_milestone_branch(git_repository* repo,
                                                                 const std::string& mid) {
  auto found = branch_tip(repo, mid);
  if (!found)
    return found.error();
  if (!*found)
    return std::optional<branch_state>{};
  const git_oid tip = **found;
  auto ref_name = "refs/heads/milestone/" + mid;
  branch_state out;
  out.tip = hex(&tip);
  git_commit* raw_commit = nullptr;
  if (git_commit_lookup(&raw_commit, repo, &tip) != 0)
    return git_fail("cannot read commit of", ref_name);
  commit_ptr commit{raw_commit};
  out.tip_time = git_commit_time(commit.get());
  // The branch's own copy of the plan is the authority on whether the milestone is done.
  git_tree* raw_tree = nullptr;
  if (git_commit_tree(&raw_tree, commit.get()) != 0)
    return git_fail("cannot read tree of", ref_name);
  tree_ptr tree{raw_tree};
  auto rel = core::tree_path::milestone_file(mid);
  git_tree_entry* raw_entry = nullptr;
  if (git_tree_entry_bypath(&raw_entry, tree.get(), rel.c_str()) == 0) {
    std::unique_ptr<git_tree_entry, decltype(&git_tree_entry_free)> entry{raw_entry,
                                                                          git_tree_entry_free};
    git_blob* raw_blob = nullptr;
    if (git_blob_lookup(&raw_blob, repo, git_tree_entry_id(entry.get())) == 0) {
      blob_ptr blob{raw_blob};
      std::string_view text{static_cast<const char*>(git_blob_rawcontent(blob.get())),
                            static_cast<std::size_t>(git_blob_rawsize(blob.get()))};
      if (auto m = parse_milestone(text, mid, ref_name + ":" + rel))
        out.complete = m->status == milestone_status::complete;
    }
  }
  auto merged = on_main(repo, tip);
  if (!merged)
    return merged.error();
  out.merged = *merged;
  return std::optional<branch_state>{out};
}

} // namespace sf::io
