#include "io/git/integration_branch.hpp"

#include "io/git/git.hpp"
#include "messages/error.hpp"

namespace sf::io {

namespace {

bool local_branch_exists(git_repository* repo, const std::string& name) {
  git_reference* raw = nullptr;
  if (git_branch_lookup(&raw, repo, name.c_str(), GIT_BRANCH_LOCAL) != 0)
    return false;
  git_reference_free(raw);
  return true;
}

/// The recorded branch name, empty when none is recorded.
std::string recorded(git_repository* repo) {
  git_config* raw = nullptr;
  if (git_repository_config_snapshot(&raw, repo) != 0)
    return {};
  config_ptr cfg{raw};
  const char* value = nullptr;
  if (git_config_get_string(&value, cfg.get(), integration_branch_key) != 0 || value == nullptr)
    return {};
  return value;
}

// The rules used until a decision is recorded.
caf::expected<std::string> by_rule(git_repository* repo) {
  for (const char* name : {"main", "master"})
    if (local_branch_exists(repo, name))
      return std::string{name};
  std::string where = git_repository_commondir(repo);
  if (git_repository_head_detached(repo) == 1)
    return make_error(ec::git_error, "HEAD is detached in " + where +
                                       " and there is no main or master branch; check out the "
                                       "integration branch (git switch <branch>) or set "
                                       "parallel.integration_branch");
  git_reference* raw = nullptr;
  int rc = git_repository_head(&raw, repo);
  if (rc == GIT_EUNBORNBRANCH || rc == GIT_ENOTFOUND)
    return make_error(ec::git_error, "the branch HEAD names in " + where +
                                       " has no commit yet; commit your files and the plan "
                                       "first (git add -A && git commit -m plan)");
  if (rc != 0)
    return git_fail("reading HEAD", where);
  reference_ptr head{raw};
  if (git_reference_is_branch(head.get()) == 0)
    return make_error(ec::git_error, "HEAD in " + where + " is not a local branch; check out the "
                                                          "integration branch (git switch <branch>)");
  const char* name = nullptr;
  if (git_branch_name(&name, head.get()) != 0)
    return git_fail("reading the current branch name", where);
  return std::string{name};
}

caf::error missing_branch(git_repository* repo, const std::string& name, const char* source) {
  return make_error(ec::git_error,
                    "the integration branch '" + name + "' (" + source + ") does not exist in " +
                      git_repository_commondir(repo) + "; restore it (git branch " + name +
                      " <commit>) or name another with parallel.integration_branch");
}

} // namespace

caf::expected<std::string> resolve_main_branch(git_repository* repo) {
  auto name = recorded(repo);
  if (name.empty())
    return by_rule(repo);
  if (!local_branch_exists(repo, name))
    return missing_branch(repo, name, "recorded in git config as sf-actors.integrationBranch");
  return name;
}

caf::expected<std::string> choose_integration_branch(git_repository* repo,
                                                     const std::string& preferred) {
  if (preferred.empty())
    return resolve_main_branch(repo);
  if (!local_branch_exists(repo, preferred))
    return missing_branch(repo, preferred, "set by parallel.integration_branch");
  return preferred;
}

caf::expected<std::string> record_integration_branch(const std::string& root,
                                                     const std::string& preferred) {
  auto repo = open_repo(root);
  if (!repo)
    return std::move(repo.error());
  auto before = recorded(repo->get());
  auto chosen = choose_integration_branch(repo->get(), preferred);
  if (!chosen)
    return std::move(chosen.error());
  std::string name = std::move(*chosen);
  if (name == before)
    return name;
  auto local = open_local_config(repo->get(), root);
  if (!local)
    return std::move(local.error());
  // libgit2 writes config.lock and renames it, like `git config`.
  if (git_config_set_string(local->get(), integration_branch_key, name.c_str()) != 0)
    return git_fail("recording the integration branch in the git config of", root);
  return name;
}

} // namespace sf::io
