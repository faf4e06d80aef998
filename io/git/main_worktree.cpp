#include "io/git/main_worktree.hpp"

#include "io/git/git.hpp"

namespace sf::io {

namespace {

std::string without_trailing_slash(std::string path) {
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  return path;
}

} // namespace

std::string main_worktree_of(const std::string& path) {
  git_init_once();
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, path.c_str(), 0, nullptr) != 0)
    return {};
  repo_ptr here{raw};
  if (git_repository_is_worktree(here.get()) != 1)
    return {};
  // The common dir is the main worktree's git dir; opened as a repository, its workdir is the
  // main worktree (honouring core.worktree), and a bare one has none.
  raw = nullptr;
  if (git_repository_open(&raw, git_repository_commondir(here.get())) != 0)
    return {};
  repo_ptr common{raw};
  const char* workdir = git_repository_workdir(common.get());
  if (workdir == nullptr || git_repository_is_bare(common.get()) == 1)
    return {};
  return without_trailing_slash(workdir);
}

} // namespace sf::io
