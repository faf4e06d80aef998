#include "worker/gate_fix.hpp"

#include "io/git/git.hpp"
#include "messages/error.hpp"

#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

namespace sf::worker {

caf::expected<std::optional<gate_fix_order>> gate_fix_from_env() {
  const char* file = std::getenv("SF_GATE_FAILURE_FILE");
  if (file == nullptr || *file == '\0')
    return std::optional<gate_fix_order>{};
  if (file[0] != '/')
    return make_error(ec::usage, std::string("SF_GATE_FAILURE_FILE=\"") + file +
                                   "\" is not an absolute path; the coordinator sets it to "
                                   ".sf/parallel/<MID>.gate-failure.md under the project root");
  gate_fix_order out;
  out.report_file = file;
  const char* round = std::getenv("SF_GATE_FIX_ROUND");
  if (round != nullptr && *round != '\0') {
    char* end = nullptr;
    long n = std::strtol(round, &end, 10);
    if (*end != '\0' || n < 1 || n > 1000)
      return make_error(ec::usage, std::string("SF_GATE_FIX_ROUND=\"") + round +
                                     "\" is not a round number; use a whole number from 1");
    out.round = static_cast<int>(n);
  }
  return std::optional<gate_fix_order>{out};
}

std::string gate_fix_unit_id(int round) {
  return "gate-fix-" + std::to_string(round);
}

bool is_gate_fix_id(const std::string& id) {
  return id.rfind("gate-fix-", 0) == 0;
}

const unit* fixing_unit(const milestone& m, const slice** in_slice) {
  const unit* found = nullptr;
  for (const auto& s : m.slices)
    for (const auto& u : s.units)
      if (u.is_agent()) {
        found = &u;
        if (in_slice != nullptr)
          *in_slice = &s;
      }
  return found;
}

std::string gate_fix_prompt(const std::string& report, const std::string& task) {
  std::string out =
    "Your work on this milestone is complete, but when it was merged with the current main "
    "branch the project's merge gate failed, so it was not merged. The gate's report:\n\n" +
    report + (report.empty() || report.back() == '\n' ? "" : "\n") +
    "\nThe current directory is your milestone's worktree; the newer work on main is not in "
    "it, but the merge the gate tested is the commit the report names (`git diff HEAD "
    "<commit>` shows what main adds to your work). Change the files here so that the merge "
    "passes the gate. Do not commit: your changes are committed and merged again when you are "
    "done.\n";
  if (!task.empty())
    out += "\nThe task, as given before:\n\n" + task;
  return out;
}

caf::expected<bool> changed_outside_state(git_repository* repo, const git_oid& before,
                                          const std::string& after) {
  git_oid after_id;
  if (git_oid_fromstr(&after_id, after.c_str()) != 0)
    return make_error(ec::git_error, "\"" + after + "\" is not a commit id");
  if (git_oid_equal(&before, &after_id))
    return false;
  auto tree = [&](const git_oid& id) -> caf::expected<io::tree_ptr> {
    git_commit* raw = nullptr;
    if (git_commit_lookup(&raw, repo, &id) != 0)
      return io::git_fail("reading a commit of", git_repository_workdir(repo));
    io::commit_ptr c{raw};
    git_tree* t = nullptr;
    if (git_commit_tree(&t, c.get()) != 0)
      return io::git_fail("reading a tree of", git_repository_workdir(repo));
    return io::tree_ptr{t};
  };
  auto a = tree(before);
  if (!a)
    return a.error();
  auto b = tree(after_id);
  if (!b)
    return b.error();
  // Top-level entries compared by name and id: a change anywhere below shows in its folder's id.
  auto entries = [](git_tree* t) {
    std::vector<std::pair<std::string, git_oid>> out;
    for (size_t i = 0, n = git_tree_entrycount(t); i < n; ++i) {
      const auto* e = git_tree_entry_byindex(t, i);
      if (std::string_view(git_tree_entry_name(e)) != ".sf")
        out.emplace_back(git_tree_entry_name(e), *git_tree_entry_id(e));
    }
    return out;
  };
  auto x = entries(a->get());
  auto y = entries(b->get());
  if (x.size() != y.size())
    return true;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i].first != y[i].first || !git_oid_equal(&x[i].second, &y[i].second))
      return true;
  return false;
}

} // namespace sf::worker
