#include "io/git/merge_driver.hpp"

#include "io/git/git.hpp"
#include "io/git/state_merge.hpp"
#include "messages/error.hpp"

#include <git2.h>
#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <sstream>

namespace sf::io {

namespace {

constexpr const char* attribute_line = "/.sf/** merge=sf-actors-state";

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

caf::error set_local(git_config* local, const std::string& key, const std::string& value,
                     const std::string& root) {
  git_config_entry* e = nullptr;
  bool same = git_config_get_entry(&e, local, key.c_str()) == 0 && e != nullptr &&
              value == e->value;
  git_config_entry_free(e);
  if (same)
    return {};
  if (git_config_set_string(local, key.c_str(), value.c_str()) != 0)
    return git_fail("registering the .sf/ merge driver in the git config of", root);
  return {};
}

// The single-quoted shell word for `s` (git runs the driver line with sh).
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// True when the checkout at `top` has a milestone branch checked out: its side is then the
// one the queue calls "theirs".
bool on_milestone_branch(const std::string& top) {
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, top.c_str(), 0, nullptr) != 0)
    return false;
  repo_ptr repo{raw};
  git_reference* head = nullptr;
  if (git_repository_head(&head, repo.get()) != 0)
    return false;
  reference_ptr ref{head};
  return std::string(git_reference_shorthand(ref.get())).rfind("milestone/", 0) == 0;
}

} // namespace

caf::error register_merge_driver(const std::string& root, const std::string& exe) {
  auto repo = open_repo(root);
  if (!repo)
    return std::move(repo.error());
  auto local = open_local_config(repo->get(), root);
  if (!local)
    return std::move(local.error());
  std::string section = std::string("merge.") + merge_driver_name;
  if (auto err = set_local(local->get(), section + ".name",
                           "sf-actors: .sf/ state files merged as the merge queue does", root))
    return err;
  if (auto err = set_local(local->get(), section + ".driver",
                           quoted(exe) + " merge-driver %O %A %B %P", root))
    return err;
  // info/attributes of the common git dir: every worktree of the repository reads it.
  std::string info = std::string(git_repository_commondir(repo->get())) + "info";
  ::mkdir(info.c_str(), 0777);
  auto path = info + "/attributes";
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return make_error(ec::unsafe_path, path + " is not a regular file; the .sf/ merge driver "
                                              "is not registered (move it away)");
  auto text = read_all(path);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line == attribute_line)
      return {};
  std::ofstream out(path, std::ios::app | std::ios::binary);
  if (!text.empty() && text.back() != '\n')
    out << '\n';
  out << attribute_line << '\n';
  if (!out)
    return make_error(ec::io_error, "cannot write " + path + "; the .sf/ merge driver is not "
                                                             "registered");
  return {};
}

int run_merge_driver(const std::string& top, const std::string& base_file,
                     const std::string& ours_file, const std::string& theirs_file,
                     const std::string& path) {
  auto base = read_all(base_file);
  auto ours = read_all(ours_file);
  auto theirs = read_all(theirs_file);
  // The queue merges a branch (theirs) into main (ours); in a milestone's worktree git's sides
  // are the other way round, so they are swapped to keep the branch's wins the branch's.
  bool swapped = on_milestone_branch(top);
  const auto& main_side = swapped ? theirs : ours;
  const auto& branch_side = swapped ? ours : theirs;
  std::optional<std::string> merged;
  if (path == ".sf/metrics.json") {
    if (auto m = merge_metrics_json(base, main_side, branch_side))
      merged = std::move(*m);
    else
      std::cerr << "sf-actors merge-driver: " << path << ": " << describe(m.error()) << '\n';
  } else if (is_milestone_file(path)) {
    if (auto m = merge_milestone_text(base, main_side, branch_side, path))
      merged = std::move(*m);
  } else if (auto m = merge_lines_keeping_both(base, main_side, branch_side, path)) {
    merged = std::move(*m);
  }
  if (!merged) {
    // Left to the person, with git's own markers (ours first, as git shows them).
    auto marked = merge_file_text(base, ours, theirs, path, false);
    if (marked)
      std::ofstream(ours_file, std::ios::trunc | std::ios::binary) << marked->second;
    return 1;
  }
  std::ofstream out(ours_file, std::ios::trunc | std::ios::binary);
  out << *merged;
  return out ? 0 : 1;
}

} // namespace sf::io
