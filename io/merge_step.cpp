#include "io/merge_step.hpp"
#include "io/fault_point.hpp"

#include "io/git.hpp"
#include "io/inode_release.hpp"
#include "io/merge.hpp"
#include "io/milestone_branch.hpp"
#include "io/status_file.hpp"
#include "io/worktree.hpp"
#include "messages/error.hpp"

#include <git2.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

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

namespace {

caf::error delete_branch_if_merged(const std::string& root, const std::string& mid) {
  auto state = read_milestone_branch(root, mid);
  if (!state)
    return state.error();
  // Only a branch whose every commit is on main may go: unmerged work is never deleted.
  if (!*state || !(*state)->merged)
    return {};
  auto repo = open_repo(root);
  if (!repo)
    return repo.error();
  git_reference* raw = nullptr;
  auto name = "milestone/" + mid;
  if (git_branch_lookup(&raw, repo->get(), name.c_str(), GIT_BRANCH_LOCAL) != 0)
    return git_fail("cannot find branch", name);
  reference_ptr ref{raw};
  if (git_branch_delete(ref.get()) != 0)
    return git_fail("cannot delete branch", name);
  return {};
}

} // namespace

merge_outcome merge_one(const std::string& root, const merge_item& item, const merge_options& o) {
  merge_outcome out;
  out.milestone = item.milestone;
  out.slice = item.slice;
  merge_request req;
  req.root = root;
  req.mid = item.milestone;
  req.tip = item.tip;
  req.message = merge_message(item);
  req.dry_run = o.dry_run;
  auto res = merge_milestone(req);
  if (!res) {
    out.kind = "failed";
    out.text = describe(res.error());
    return out;
  }
  out.commit = res->commit;
  out.files = res->files;
  out.text = res->text;
  switch (res->kind) {
    case merge_result::merged:
      out.kind = o.dry_run ? "would_merge" : "merged";
      break;
    case merge_result::already_merged:
      out.kind = "already_merged";
      break;
    case merge_result::conflict:
      out.kind = "conflict";
      break;
    case merge_result::dirty_checkout:
      out.kind = "dirty_checkout";
      break;
    case merge_result::locked:
      out.kind = "locked";
      break;
    default:
      out.kind = "failed";
      break;
  }
  if (o.dry_run || (out.kind != "merged" && out.kind != "already_merged"))
    return out;
  if (out.kind == "merged" && !o.push_remote.empty()) {
    auto repo = open_repo(root);
    caf::expected<std::string> main = caf::error{};
    if (repo)
      main = resolve_main_branch(repo->get());
    auto err = !repo ? repo.error() : !main ? main.error() : push_branch(root, o.push_remote, *main);
    if (err)
      out.push_error = describe(err);
    else
      out.pushed = true;
  }
  if (!o.cleanup)
    return out;
  auto notes = cleanup_merged(root, item, o);
  if (!notes.empty())
    out.text += (out.text.empty() ? "" : "; ") + notes;
  return out;
}

std::string cleanup_merged(const std::string& root, const merge_item& item,
                           const merge_options& o) {
  fault_point("merge.before_cleanup");
  std::string notes;
  if (item.slice.empty()) {
    // The milestone is on main: its worktree and status file have served their purpose.
    if (auto err = remove_worktree(root, item.milestone))
      notes += std::string("worktree kept: ") + describe(err);
    unlink_deferred(status_path(root, item.milestone));
    if (o.delete_merged_branch)
      if (auto err = delete_branch_if_merged(root, item.milestone))
        notes += (notes.empty() ? "" : "; ") + std::string("branch kept: ") + describe(err);
  }
  return notes;
}

caf::expected<std::vector<merge_item>> find_mergeable(const std::string& root, const plan& p) {
  std::vector<merge_item> items;
  for (const auto& m : p.milestones) {
    auto state = read_milestone_branch(root, m.id);
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

std::string render_merge_report(const merge_report& r) {
  std::ostringstream out;
  out << "# Merge Results\n\n";
  if (r.results.empty())
    out << "- nothing to merge: no completed milestone is waiting\n";
  for (const auto& x : r.results) {
    std::string who = "**" + x.milestone + "**" + (x.slice.empty() ? "" : " (" + x.slice + ")");
    if (x.kind == "merged") {
      out << "- " << who << " — merged successfully" << (x.pushed ? " (pushed)" : "") << '\n';
      if (!x.push_error.empty())
        out << "  push failed: " << x.push_error << " (the local merge stays)\n";
    } else if (x.kind == "would_merge") {
      out << "- " << who << " — would merge cleanly\n";
    } else if (x.kind == "already_merged") {
      out << "- " << who << " — already merged (nothing to do)\n";
    } else if (x.kind == "conflict") {
      out << "- " << who << " — CONFLICT (" << x.files.size() << " file(s)):\n";
      for (const auto& f : x.files)
        out << "  - `" << f << "`\n";
      out << "  Resolve conflicts manually and run `sf-actors merge " << x.milestone
          << "` to retry.\n";
    } else if (x.kind == "dirty_checkout") {
      out << "- " << who
          << " — not merged: uncommitted changes in the root checkout would be overwritten:\n";
      for (const auto& f : x.files)
        out << "  - `" << f << "`\n";
      out << "  Commit or stash them, then run `sf-actors merge " << x.milestone << "`.\n";
    } else if (x.kind == "waiting") {
      out << "- " << who << " — waiting: " << x.text << '\n';
    } else if (x.kind == "locked") {
      out << "- " << who << " — not merged: " << x.text << '\n';
    } else if (x.kind == "would_conflict") {
      out << "- " << who << " — would conflict with " << x.text << " in " << x.files.size()
          << " file(s):\n";
      for (const auto& f : x.files)
        out << "  - `" << f << "`\n";
    } else {
      out << "- " << who << " — failed: " << x.text << '\n';
    }
  }
  return out.str();
}

} // namespace sf::io
