#include "io/git/git_checkouts.hpp"

#include "io/git/git.hpp"
#include "io/os/safe_file.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>

namespace sf::io {

namespace {

// git's own small files (HEAD, head-name, BISECT_START, gitdir): a line, never large.
constexpr std::size_t small_file_cap = 64 * 1024;

std::string first_line(const std::string& path) {
  auto text = read_file_capped(path, small_file_cap);
  if (!text)
    return {};
  auto end = text->find('\n');
  return end == std::string::npos ? *text : text->substr(0, end);
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string with_slash(std::string s) {
  if (!s.empty() && s.back() != '/')
    s += '/';
  return s;
}

// HEAD is "ref: refs/heads/x" or a commit id, or (core.preferSymlinkRefs) a symbolic link to
// the ref file. A HEAD that cannot be read is reported as such, never as "not main".
std::string read_head(const std::string& gitdir) {
  auto path = gitdir + "HEAD";
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    char buf[4096];
    auto n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{"(unreadable)"};
  }
  auto text = read_file_capped(path, small_file_cap);
  if (!text)
    return "(unreadable)";
  auto line = text->substr(0, text->find('\n'));
  if (line.compare(0, 5, "ref: ") == 0)
    return line.substr(5);
  return line;
}

} // namespace

caf::expected<std::vector<git_checkout>> list_checkouts(git_repository* repo) {
  std::vector<git_checkout> out;
  std::string common = with_slash(git_repository_commondir(repo));
  if (git_repository_is_bare(repo) == 0) {
    git_checkout main;
    main.gitdir = common;
    if (git_repository_is_worktree(repo) == 0) {
      main.workdir = with_slash(git_repository_workdir(repo));
    } else {
      // Opened through a linked worktree: the main folder belongs to the common dir.
      auto owner = open_repo(common);
      if (owner && git_repository_is_bare(owner->get()) == 0)
        main.workdir = with_slash(git_repository_workdir(owner->get()));
    }
    if (!main.workdir.empty()) {
      main.head = read_head(main.gitdir);
      out.push_back(std::move(main));
    }
  }
  std::vector<std::string> names;
  if (DIR* d = ::opendir((common + "worktrees").c_str())) {
    while (auto* ent = ::readdir(d))
      if (ent->d_name[0] != '.')
        names.emplace_back(ent->d_name);
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    git_checkout c;
    c.linked = true;
    c.gitdir = common + "worktrees/" + name + "/";
    // `gitdir` names the worktree's `.git` file; a worktree whose folder is gone has no files
    // to protect (git calls it prunable).
    auto dot_git = first_line(c.gitdir + "gitdir");
    if (dot_git.size() < 5 || dot_git.compare(dot_git.size() - 5, 5, "/.git") != 0)
      continue;
    c.workdir = dot_git.substr(0, dot_git.size() - 4);
    // Moved or deleted: git still knows what it has checked out, and so must we.
    c.missing = !exists(dot_git);
    c.head = read_head(c.gitdir);
    out.push_back(std::move(c));
  }
  return out;
}

std::string current_head(const git_checkout& c) {
  return read_head(c.gitdir);
}

std::optional<git_operation> operation_on(const git_checkout& c, const std::string& ref) {
  const std::string& g = c.gitdir;
  std::string branch = ref.compare(0, 11, "refs/heads/") == 0 ? ref.substr(11) : ref;
  bool on_ref = c.head == ref;
  // A rebase detaches HEAD; the branch it will move at the end is in head-name.
  for (const char* dir : {"rebase-merge", "rebase-apply"}) {
    auto marker = g + dir;
    if (!exists(marker))
      continue;
    bool am = std::string{dir} == "rebase-apply" && exists(marker + "/applying");
    auto head_name = first_line(marker + "/head-name");
    if (am && (on_ref || head_name == ref))
      return git_operation{"am", marker, "git am --continue, or git am --abort"};
    if (!am && (head_name == ref || (head_name.empty() && on_ref)))
      return git_operation{"rebase", marker, "git rebase --continue, or git rebase --abort"};
  }
  // Bisect detaches HEAD too; BISECT_START holds the branch it started from.
  if (exists(g + "BISECT_START")) {
    auto start = first_line(g + "BISECT_START");
    if (on_ref || start == branch || start == ref)
      return git_operation{"bisect", g + "BISECT_START", "git bisect reset"};
  }
  if (!on_ref)
    return std::nullopt;
  if (exists(g + "MERGE_HEAD"))
    return git_operation{"merge", g + "MERGE_HEAD",
                         "commit the merge (git commit), or git merge --abort"};
  if (exists(g + "CHERRY_PICK_HEAD"))
    return git_operation{"cherry-pick", g + "CHERRY_PICK_HEAD",
                         "git cherry-pick --continue, or git cherry-pick --abort"};
  if (exists(g + "REVERT_HEAD"))
    return git_operation{"revert", g + "REVERT_HEAD",
                         "git revert --continue, or git revert --abort"};
  if (exists(g + "sequencer"))
    return git_operation{"cherry-pick", g + "sequencer",
                         "git cherry-pick --continue, or git cherry-pick --quit"};
  return std::nullopt;
}

std::string describe_operation(const git_operation& op, const git_checkout& c) {
  std::string where = c.workdir;
  if (where.size() > 1 && where.back() == '/')
    where.pop_back();
  return "a git " + op.name + " is in progress in " + where + " (" + op.marker + "); finish it (" +
         op.fix + ")";
}

} // namespace sf::io
