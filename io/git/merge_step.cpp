#include "io/git/merge_step.hpp"

#include "io/files/parallel_dir.hpp"
#include "io/files/status_file.hpp"
#include "io/git/git.hpp"
#include "io/git/integration_branch.hpp"
#include "io/git/merge.hpp"
#include "io/git/merge_turn.hpp"
#include "io/git/milestone_branch.hpp"
#include "io/git/push.hpp"
#include "io/git/worktree.hpp"
#include "io/os/fault_point.hpp"
#include "io/os/inode_release.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <git2.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <sstream>
#include <thread>

namespace sf::io {

std::string merge_message(const merge_item& item) {
  std::ostringstream out;
  if (item.slice.empty())
    out << "Merge milestone " << item.milestone << ": " << item.title << "\n\n";
  else
    out << "Merge slice " << item.slice << " of milestone " << item.milestone << ": "
        << item.title << "\n\n";
  if (!item.units.empty()) {
    out << "Units:\n";
    for (const auto& u : item.units)
      out << "- " << u << '\n';
    out << '\n';
  }
  out << "SF-Milestone: " << item.milestone << '\n';
  if (!item.slice.empty())
    out << "SF-Slice: " << item.slice << '\n';
  out << "SF-Tip: " << item.tip << '\n';
  return out.str();
}

core::merge_kind outcome_kind(core::merge_kind merge_result_kind, bool dry_run) {
  return dry_run && merge_result_kind == core::merge_kind::merged ? core::merge_kind::would_merge
                                                                  : merge_result_kind;
}

namespace {

caf::error delete_branch_if_merged(git_repository* repo, const std::string& mid) {
  auto merged = milestone_merged(repo, mid);
  if (!merged)
    return merged.error();
  // Only a branch whose every commit is on main may go: unmerged work is never deleted.
  if (!*merged || !**merged)
    return {};
  git_reference* raw = nullptr;
  auto name = "milestone/" + mid;
  if (git_branch_lookup(&raw, repo, name.c_str(), GIT_BRANCH_LOCAL) != 0)
    return git_fail("cannot find branch", name);
  reference_ptr ref{raw};
  if (git_branch_delete(ref.get()) != 0)
    return git_fail("cannot delete branch", name);
  return {};
}

// cleanup_merged's work, through the repository the step has open.
std::string cleanup_in(git_repository* repo, const std::string& root, const merge_item& item,
                       const merge_options& o) {
  fault_point("merge.before_cleanup");
  std::string notes;
  if (item.slice.empty()) {
    // The milestone is on main: its worktree and status file have served their purpose.
    if (auto err = remove_worktree(repo, root, item.milestone))
      notes += std::string("worktree kept: ") + describe(err);
    unlink_deferred(status_path(root, item.milestone));
    if (o.delete_merged_branch)
      if (auto err = delete_branch_if_merged(repo, item.milestone))
        notes += (notes.empty() ? "" : "; ") + std::string("branch kept: ") + describe(err);
  }
  return notes;
}

} // namespace

git_hook_settings merge_git_hooks(const preferences& p) {
  git_hook_settings s;
  s.enabled = p.git_hooks;
  s.grace = std::chrono::milliseconds(static_cast<int64_t>(p.stop_grace * 1000));
  return s;
}

merge_outcome merge_one(const std::string& root, const merge_item& item, const merge_options& o) {
  merge_outcome out;
  out.milestone = item.milestone;
  out.slice = item.slice;
  // Another sf-actors merge of this project (a second `merge`, or a coordinator's queue) waits
  // here rather than racing us for git's locks; dry runs change nothing and need no turn.
  unique_fd turn;
  if (!o.dry_run) {
    auto held = take_merge_turn(root, o.turn_patience, o.stop_fd);
    if (!held) {
      out.kind = code_of(held.error()) == ec::locked        ? core::merge_kind::locked
                 : code_of(held.error()) == ec::unavailable ? core::merge_kind::interrupted
                                                            : core::merge_kind::failed;
      out.text = describe(held.error());
      return out;
    }
    turn = std::move(*held);
  }
  // One repository handle for the whole step: the merge, the push's branch name, the clean-up.
  auto repo = open_repo(root);
  if (!repo) {
    out.kind = core::merge_kind::failed;
    out.text = describe(repo.error());
    return out;
  }
  merge_request req;
  req.root = root;
  req.mid = item.milestone;
  req.tip = item.tip;
  req.message = merge_message(item);
  req.dry_run = o.dry_run;
  req.stop_fd = o.stop_fd;
  req.gated_commit = o.gated_commit;
  req.gated_base = o.gated_base;
  req.hooks = o.git_hooks;
  auto res = merge_milestone(repo->get(), req);
  if (!res) {
    // A stop that ended git's check is an interruption (exit 130), not a failed merge.
    out.kind = code_of(res.error()) == ec::unavailable ? core::merge_kind::interrupted
                                                        : core::merge_kind::failed;
    out.text = describe(res.error());
    return out;
  }
  out.commit = res->commit;
  out.files = res->files;
  out.text = res->text;
  out.watch = res->watch;
  out.notes = res->notes;
  out.main_moved = res->main_moved;
  out.kind = outcome_kind(res->kind, o.dry_run);
  if (o.dry_run || (out.kind != core::merge_kind::merged && out.kind != core::merge_kind::already_merged))
    return out;
  // The push needs no turn: the next merge must not wait for a slow remote.
  turn.reset();
  if (out.kind == core::merge_kind::merged && !o.push_remote.empty() && o.push_inline) {
    auto main = resolve_main_branch(repo->get());
    caf::error err = !main ? main.error() : caf::error{};
    if (!err)
      err = push_branch(push_request{root, o.push_remote, *main}, o.push_timeout, o.stop_fd);
    if (err)
      out.push_error = describe(err);
    else
      out.pushed = true;
  }
  if (!o.cleanup)
    return out;
  auto notes = cleanup_in(repo->get(), root, item, o);
  if (!notes.empty())
    out.text += (out.text.empty() ? "" : "; ") + notes;
  return out;
}

std::string cleanup_merged(const std::string& root, const merge_item& item,
                           const merge_options& o) {
  auto repo = open_repo(root);
  if (!repo)
    return item.slice.empty() ? "worktree kept: " + describe(repo.error()) : std::string{};
  return cleanup_in(repo->get(), root, item, o);
}

caf::expected<std::vector<merge_item>> find_mergeable(const std::string& root, const plan& p) {
  auto repo = open_repo(root);
  if (!repo)
    return repo.error();
  std::vector<merge_item> items;
  for (const auto& m : p.milestones) {
    auto state = read_milestone_branch(repo->get(), m.id);
    if (!state)
      return state.error();
    if (!*state || !(*state)->complete || (*state)->merged)
      continue;
    merge_item item;
    item.milestone = m.id;
    item.title = m.title;
    item.tip = (*state)->tip;
    item.sequence = (*state)->tip_time;
    for (const auto& s : m.slices)
      for (const auto& u : s.units)
        item.units.push_back(u.id + " " + u.title);
    items.push_back(std::move(item));
  }
  return items;
}

} // namespace sf::io
