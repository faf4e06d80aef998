#include "io/git/git.hpp"

#include "messages/error.hpp"

#include <mutex>

namespace sf::io {

void git_init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_libgit2_init();
    // Off by default in libgit2: without it a crash can lose a ref update that we reported done.
    git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
  });
}

caf::error git_fail(const char* what, const std::string& where) {
  // libgit2 keeps the message per thread and overwrites it on the next failure: read it now.
  const git_error* last = git_error_last();
  std::string detail = last != nullptr && last->message != nullptr ? last->message
                                                                   : "no detail from libgit2";
  return make_error(ec::git_error, std::string{what} + " failed for " + where + ": " + detail +
                                     "; check the repository with `git status` and `git fsck`");
}

caf::expected<repo_ptr> open_repo(const std::string& path) {
  git_init_once();
  git_repository* raw = nullptr;
  // NO_SEARCH: a missing repository must not silently resolve to an enclosing one.
  if (git_repository_open_ext(&raw, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) != 0)
    return make_error(ec::git_error, "cannot open a git repository at " + path + ": " +
                                       (git_error_last() != nullptr ? git_error_last()->message
                                                                    : "unknown reason") +
                                       "; run sf-actors from the repository's top folder");
  return repo_ptr{raw};
}

caf::expected<config_ptr> open_local_config(git_repository* repo, const std::string& root) {
  git_config* raw = nullptr;
  if (git_repository_config(&raw, repo) != 0)
    return git_fail("opening the git config of", root);
  config_ptr all{raw};
  git_config* local_raw = nullptr;
  if (git_config_open_level(&local_raw, all.get(), GIT_CONFIG_LEVEL_LOCAL) != 0)
    return git_fail("opening the local git config of", root);
  return config_ptr{local_raw};
}

} // namespace sf::io
