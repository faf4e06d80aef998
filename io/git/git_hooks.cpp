#include "io/git/git_hooks.hpp"

#include "io/git/gate_run.hpp"
#include "io/git/git.hpp"
#include "io/git/git_cli.hpp"
#include "io/os/captured_run.hpp"
#include "messages/error.hpp"

#include <unistd.h>

#include <cerrno>

namespace sf::io {

namespace {

std::string without_slash(std::string s) {
  while (s.size() > 1 && s.back() == '/')
    s.pop_back();
  return s;
}

// The last `n` lines of `text`.
std::string last_lines(const std::string& text, std::size_t n) {
  auto end = text.size();
  while (end > 0 && text[end - 1] == '\n')
    --end;
  auto from = end;
  for (std::size_t seen = 0; from > 0; --from)
    if (text[from - 1] == '\n' && ++seen == n)
      break;
  return text.substr(from, end - from);
}

// git's advice.ignoredHook (on unless set false).
bool advise_ignored(git_config* cfg) {
  int on = 1;
  if (git_config_get_bool(&on, cfg, "advice.ignoredHook") != 0)
    git_error_clear();
  return on != 0;
}

} // namespace

std::string git_hook_result::failure(const std::string& name) const {
  auto said = lines_on_one_line(last_lines(output, git_hook_tail_lines));
  return "the " + name + " hook (" + path + ") " + how +
         (said.empty() ? " and printed nothing" : ": " + said);
}

caf::expected<std::string> git_hooks_dir(git_repository* repo, const std::string& top) {
  git_config* raw = nullptr;
  if (git_repository_config_snapshot(&raw, repo) != 0)
    return git_fail("reading the git config", top);
  config_ptr cfg{raw};
  git_buf buf = GIT_BUF_INIT;
  int rc = git_config_get_path(&buf, cfg.get(), "core.hooksPath");
  if (rc == GIT_ENOTFOUND) {
    git_error_clear();
    return without_slash(git_repository_commondir(repo)) + "/hooks";
  }
  if (rc != 0)
    return git_fail("reading core.hooksPath", top);
  std::string path{buf.ptr, buf.size};
  git_buf_dispose(&buf);
  if (!path.empty() && path.front() != '/')
    path = without_slash(top) + "/" + path;
  return without_slash(path);
}

caf::expected<bool> git_hook_exists(git_repository* repo, const std::string& name,
                                    const std::string& top) {
  auto dir = git_hooks_dir(repo, top);
  if (!dir)
    return std::move(dir.error());
  return ::access((*dir + "/" + name).c_str(), F_OK) == 0;
}

caf::expected<git_hook_result> run_git_hook(git_repository* repo, const git_hook_call& call,
                                            const git_hook_settings& settings) {
  git_hook_result out;
  if (!settings.enabled)
    return out;
  auto dir = git_hooks_dir(repo, call.top);
  if (!dir)
    return std::move(dir.error());
  out.path = *dir + "/" + call.name;
  // As git: a missing hook is no hook, one without the executable bit is skipped with a hint.
  if (::access(out.path.c_str(), F_OK) != 0)
    return out;
  if (::access(out.path.c_str(), X_OK) != 0) {
    git_config* raw = nullptr;
    bool advise = true;
    if (git_repository_config_snapshot(&raw, repo) == 0) {
      config_ptr cfg{raw};
      advise = advise_ignored(cfg.get());
    }
    if (advise)
      out.hint = "the " + call.name + " hook (" + out.path + ") was ignored because it is not "
                 "executable; make it executable (chmod +x) or set `git config "
                 "advice.ignoredHook false` to silence this";
    if (!out.hint.empty() && settings.on_note)
      settings.on_note(out.hint);
    return out;
  }
  spawn_request req;
  req.argv = {out.path};
  req.argv.insert(req.argv.end(), call.args.begin(), call.args.end());
  req.cwd = call.top;
  req.env = environment_without_git_vars();
  req.env.insert(req.env.end(), call.env.begin(), call.env.end());
  out.ran = true;
  auto ran = run_captured(std::move(req), settings.timeout, settings.grace, git_hook_output_cap,
                          settings.stop_fd);
  if (!ran) {
    out.ok = false;
    out.how = "cannot start (" + describe(ran.error()) + ")";
    return out;
  }
  out.output = std::move(ran->output);
  out.stopped = ran->stopped;
  out.ok = !ran->stopped && ran->outcome.ok();
  out.how = ran->stopped ? "was stopped (" + ran->outcome.describe() + ")" : ran->outcome.describe();
  return out;
}

} // namespace sf::io
