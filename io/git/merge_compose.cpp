#include "io/git/merge_compose.hpp"

#include "io/git/git.hpp"
#include "io/git/integration_branch.hpp"
#include "io/git/merge_hook.hpp"
#include "io/git/merge_parts.hpp"
#include "io/git/merge_step.hpp"
#include "io/git/tree_merge.hpp"
#include "messages/error.hpp"

#include <git2.h>

namespace sf::io {

std::size_t composed_merge::merged_count() const {
  std::size_t n = 0;
  for (const auto& s : steps)
    n += s.kind == core::merge_kind::merged ? 1 : 0;
  return n;
}

namespace {

// One link of the chain: `item`'s tip merged into `ours`.
caf::expected<composed_step> compose_one(git_repository* repo, const std::string& root,
                                         const git_oid& ours_oid, const merge_item& item,
                                         const std::string& main,
                                         const git_hook_settings& hooks, git_oid& next) {
  composed_step step;
  std::string branch = "milestone/" + item.milestone;
  git_oid tip;
  if (item.tip.size() != GIT_OID_HEXSZ || git_oid_fromstr(&tip, item.tip.c_str()) != 0)
    return make_error(ec::invalid_input, "recorded tip '" + item.tip.substr(0, 80) + "' of " +
                                           item.milestone + " is not a 40-digit commit id");
  if (git_oid_equal(&ours_oid, &tip) != 0 || git_graph_descendant_of(repo, &ours_oid, &tip) == 1) {
    step.kind = core::merge_kind::already_merged;
    step.text = branch + " at " + item.tip.substr(0, 12) + " is already in " + main;
    next = ours_oid;
    return step;
  }
  auto ours = lookup_commit(repo, ours_oid, main);
  if (!ours)
    return std::move(ours.error());
  auto theirs = lookup_commit(repo, tip, branch);
  if (!theirs)
    return std::move(theirs.error());
  auto ours_tree = tree_of(ours->get());
  if (!ours_tree)
    return std::move(ours_tree.error());
  auto theirs_tree = tree_of(theirs->get());
  if (!theirs_tree)
    return std::move(theirs_tree.error());
  auto base = merge_base_tree(repo, ours_oid, tip);
  if (!base)
    return std::move(base.error());
  auto tm = tree_merge(repo, base->get(), ours_tree->get(), theirs_tree->get());
  if (!tm)
    return std::move(tm.error());
  if (!tm->conflicts.empty()) {
    step.kind = core::merge_kind::conflict;
    step.text = branch + " conflicts with " + main + " in " +
                std::to_string(tm->conflicts.size()) + " file(s)";
    step.files = std::move(tm->conflicts);
    return step;
  }
  auto verdict = run_pre_merge_commit(repo, root, tm->tree, branch, main, hooks);
  if (!verdict)
    return std::move(verdict.error());
  if (!verdict->ok) {
    step.kind = core::merge_kind::blocked;
    step.text = std::move(verdict->text);
    step.watch = std::move(verdict->watch);
    return step;
  }
  // git's hint about a hook skipped went to the settings' on_note already.
  git_tree* raw_tree = nullptr;
  if (git_tree_lookup(&raw_tree, repo, &tm->tree) != 0)
    return git_fail("reading the merged tree", oid_hex(tm->tree));
  tree_ptr merged_tree{raw_tree};
  auto sig = merge_signature(repo);
  if (!sig)
    return std::move(sig.error());
  const git_commit* parents[] = {ours->get(), theirs->get()};
  auto message = merge_message(item);
  if (git_commit_create(&next, repo, nullptr, sig->get(), sig->get(), nullptr, message.c_str(),
                        merged_tree.get(), 2, parents) != 0)
    return git_fail("creating a merge commit", branch + " for the merge gate");
  step.kind = core::merge_kind::merged;
  step.commit = oid_hex(next);
  step.text = "merged " + branch + " as " + step.commit.substr(0, 12) + " (not on " + main + ")";
  return step;
}

} // namespace

caf::expected<composed_merge> compose_merges(const std::string& root,
                                             const std::vector<merge_item>& items,
                                             const git_hook_settings& hooks) {
  auto repo = open_repo(root);
  if (!repo)
    return std::move(repo.error());
  auto main = resolve_main_branch(repo->get());
  if (!main)
    return std::move(main.error());
  composed_merge out;
  out.main = *main;
  git_oid at;
  auto ref = "refs/heads/" + *main;
  if (git_reference_name_to_id(&at, repo->get(), ref.c_str()) != 0)
    return git_fail("reading", ref);
  out.base = oid_hex(at);
  for (std::size_t i = 0; i < items.size(); ++i) {
    git_oid next = at;
    auto step = compose_one(repo->get(), root, at, items[i], *main, hooks, next);
    if (!step)
      return std::move(step.error());
    step->index = i;
    bool ends = step->kind == core::merge_kind::conflict || step->kind == core::merge_kind::blocked;
    out.steps.push_back(std::move(*step));
    if (ends)
      break;
    at = next;
  }
  out.tip = oid_hex(at);
  return out;
}

} // namespace sf::io
