#include "io/git/committed_plan.hpp"

#include "config/escape.hpp"
#include "core/milestone_id.hpp"
#include "core/sf_paths.hpp"
#include "io/git/git.hpp"
#include "io/git/integration_branch.hpp"
#include "messages/error.hpp"

#include <sys/stat.h>

#include <algorithm>

namespace sf::io {

namespace {

using diff_ptr = std::unique_ptr<git_diff, git_deleter<git_diff, git_diff_free>>;
using entry_ptr = std::unique_ptr<git_tree_entry, git_deleter<git_tree_entry, git_tree_entry_free>>;

// Every milestone folder of the committed `.sf/milestones` tree, parsed as load_plan parses
// the working copy (same ids, same limits, same validation).
caf::expected<plan> parse_committed(git_repository* repo, git_tree* root_tree,
                                    const std::string& root, const std::string& where) {
  plan out;
  git_tree_entry* raw = nullptr;
  int rc = git_tree_entry_bypath(&raw, root_tree, ".sf/milestones");
  if (rc == GIT_ENOTFOUND)
    return out;
  if (rc != 0)
    return git_fail("reading .sf/milestones of", where);
  entry_ptr dir_entry{raw};
  if (git_tree_entry_type(dir_entry.get()) != GIT_OBJECT_TREE)
    return make_error(ec::invalid_input, ".sf/milestones on " + where +
                                           " is not a folder; commit a folder of milestones");
  git_object* obj = nullptr;
  if (git_tree_entry_to_object(&obj, repo, dir_entry.get()) != 0)
    return git_fail("reading .sf/milestones of", where);
  tree_ptr dir{reinterpret_cast<git_tree*>(obj)};
  input_limits limits;
  for (size_t i = 0; i < git_tree_entrycount(dir.get()); ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(dir.get(), i);
    std::string name = git_tree_entry_name(e);
    if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
      continue; // Files beside the folders are not milestones, as on disk.
    if (!core::valid_milestone_id(name))
      return make_error(ec::invalid_input, ".sf/milestones on " + where + ": folder " +
                                             core::not_a_milestone_id(escape_text(name)) +
                                             "; rename or remove it and commit");
    auto rel = core::tree_path::milestone_file(name);
    auto file_path = root + "/" + rel;
    git_tree_entry* file_raw = nullptr;
    if (git_tree_entry_bypath(&file_raw, root_tree, rel.c_str()) != 0)
      return make_error(ec::invalid_input, rel + " is missing on " + where +
                                             "; add and commit it, or remove the folder");
    entry_ptr file{file_raw};
    if (git_tree_entry_filemode(file.get()) != GIT_FILEMODE_BLOB &&
        git_tree_entry_filemode(file.get()) != GIT_FILEMODE_BLOB_EXECUTABLE)
      return make_error(ec::unsafe_path, rel + " on " + where +
                                           " is not a plain file (a link or a folder); commit "
                                           "a real file");
    git_blob* blob_raw = nullptr;
    if (git_blob_lookup(&blob_raw, repo, git_tree_entry_id(file.get())) != 0)
      return git_fail("reading", rel + " on " + where);
    blob_ptr blob{blob_raw};
    auto size = static_cast<std::size_t>(git_blob_rawsize(blob.get()));
    if (size > limits.max_file_bytes)
      return make_error(ec::invalid_input, rel + " on " + where + " is larger than " +
                                             std::to_string(limits.max_file_bytes) +
                                             " bytes; shorten it");
    std::string_view text{static_cast<const char*>(git_blob_rawcontent(blob.get())), size};
    auto m = parse_milestone(text, name, file_path + " (as committed on " + where + ")", limits);
    if (!m)
      return m.error();
    m->path = file_path;
    out.milestones.push_back(std::move(*m));
  }
  if (auto err = sort_and_validate(out))
    return err;
  return out;
}

char milestones_spec[] = ".sf/milestones/";
char preferences_spec[] = ".sf/PREFERENCES.md";
char* plan_specs[] = {milestones_spec, preferences_spec};

// Plan and preferences files the root checkout has changed, staged or not tracked yet.
caf::error uncommitted(git_repository* repo, std::vector<plan_difference>& out) {
  git_status_options opts = GIT_STATUS_OPTIONS_INIT;
  opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
  opts.pathspec = {plan_specs, 2};
  git_status_list* raw = nullptr;
  if (git_status_list_new(&raw, repo, &opts) != 0)
    return git_fail("listing changes of the plan in", git_repository_workdir(repo));
  status_list_ptr list{raw};
  for (size_t i = 0; i < git_status_list_entrycount(list.get()); ++i) {
    const git_status_entry* e = git_status_byindex(list.get(), i);
    const git_diff_delta* d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
    if (d == nullptr)
      continue;
    plan_difference pd;
    pd.path = d->new_file.path ? d->new_file.path : d->old_file.path;
    if ((e->status & (GIT_STATUS_WT_NEW | GIT_STATUS_INDEX_NEW)) != 0)
      pd.what = "not committed";
    else if ((e->status & (GIT_STATUS_WT_DELETED | GIT_STATUS_INDEX_DELETED)) != 0)
      pd.what = "deleted, not committed";
    else
      pd.what = "changed, not committed";
    out.push_back(std::move(pd));
  }
  return {};
}

// Plan files a checkout of another branch (or a detached HEAD) holds differently from `main`.
caf::error other_branch(git_repository* repo, git_tree* main_tree, const std::string& main,
                        std::vector<plan_difference>& out) {
  git_object* head_obj = nullptr;
  if (git_revparse_single(&head_obj, repo, "HEAD^{tree}") != 0)
    return git_fail("reading HEAD of", git_repository_workdir(repo));
  object_ptr head_tree{head_obj};
  if (git_oid_equal(git_object_id(head_tree.get()), git_tree_id(main_tree)))
    return {};
  std::string head_name = "HEAD";
  git_reference* head_ref = nullptr;
  if (git_repository_head(&head_ref, repo) == 0) {
    head_name = git_reference_shorthand(head_ref);
    git_reference_free(head_ref);
  }
  if (head_name == main)
    return {}; // Main's own checkout lagging behind is the merge's to bring along.
  git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
  opts.pathspec = {plan_specs, 2};
  git_diff* raw = nullptr;
  if (git_diff_tree_to_tree(&raw, repo, main_tree,
                            reinterpret_cast<git_tree*>(head_tree.get()), &opts) != 0)
    return git_fail("comparing the plan with", head_name + " and " + main);
  diff_ptr diff{raw};
  for (size_t i = 0; i < git_diff_num_deltas(diff.get()); ++i) {
    const git_diff_delta* d = git_diff_get_delta(diff.get(), i);
    plan_difference pd;
    pd.path = d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path;
    pd.what = d->status == GIT_DELTA_ADDED     ? "committed on " + head_name + ", not on " + main
              : d->status == GIT_DELTA_DELETED ? "on " + main + ", deleted on " + head_name
                                               : "differs between " + head_name + " and " + main;
    out.push_back(std::move(pd));
  }
  return {};
}

// What the person sees in the root checkout and a run would not use.
caf::expected<std::vector<plan_difference>> differences(git_repository* repo, git_tree* tree,
                                                        const std::string& main) {
  std::vector<plan_difference> out;
  if (git_repository_is_bare(repo))
    return out;
  // A merge cut short between moving main and its checkout left its journal: the checkout lags
  // behind main until the next coordinator brings it along, so its "changes" are main's.
  struct stat st {};
  std::string journal = std::string{git_repository_path(repo)} + "sf-merge-checkout.json";
  if (::lstat(journal.c_str(), &st) != 0)
    if (auto err = uncommitted(repo, out))
      return err;
  if (auto err = other_branch(repo, tree, main, out))
    return err;
  std::sort(out.begin(), out.end(),
            [](const plan_difference& a, const plan_difference& b) { return a.path < b.path; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const plan_difference& a, const plan_difference& b) {
                          return a.path == b.path;
                        }),
            out.end());
  return out;
}

} // namespace

caf::expected<committed_plan> read_committed_plan(const std::string& root,
                                                  const std::string& preferred) {
  auto repo = open_repo(root);
  if (!repo)
    return make_error(ec::invalid_input,
                      root + " is not a git repository: sf-actors runs each milestone on a branch "
                             "of it; run `git init`, commit your files and the plan (git add -A && "
                             "git commit -m plan), then start again");
  if (git_repository_head_unborn(repo->get()) == 1)
    return make_error(ec::invalid_input,
                      "the repository at " + root + " has no commit yet, and milestones start "
                      "from one; commit your files and the plan (git add -A && git commit -m "
                      "plan), then start again");
  committed_plan out;
  auto branch = choose_integration_branch(repo->get(), preferred);
  if (!branch)
    return branch.error();
  out.branch = *branch;
  git_oid tip;
  if (git_reference_name_to_id(&tip, repo->get(), ("refs/heads/" + out.branch).c_str()) != 0)
    return git_fail("reading", "refs/heads/" + out.branch);
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof hex, &tip);
  out.commit = hex;
  git_commit* commit_raw = nullptr;
  if (git_commit_lookup(&commit_raw, repo->get(), &tip) != 0)
    return git_fail("reading the tip of", out.branch);
  commit_ptr commit{commit_raw};
  git_tree* tree_raw = nullptr;
  if (git_commit_tree(&tree_raw, commit.get()) != 0)
    return git_fail("reading the tree of", out.branch);
  tree_ptr tree{tree_raw};
  auto p = parse_committed(repo->get(), tree.get(), root, out.branch);
  if (!p)
    return p.error();
  out.milestones = std::move(*p);
  auto diffs = differences(repo->get(), tree.get(), out.branch);
  if (!diffs)
    return diffs.error();
  out.differences = std::move(*diffs);
  return out;
}

std::vector<std::string> describe_differences(const committed_plan& cp) {
  std::vector<std::string> lines;
  for (const auto& d : cp.differences)
    lines.push_back(d.path + ": " + d.what + " (a run uses " + cp.branch + " at " +
                    cp.commit.substr(0, 12) + ")");
  return lines;
}

} // namespace sf::io
