#include "io/git/git_cli.hpp"

#include "io/os/captured_run.hpp"
#include "messages/error.hpp"

#include <sys/wait.h>

#include <cstring>

extern char** environ;

namespace sf::io {

namespace {

constexpr std::size_t max_output = 64 * 1024;

bool ours_to_drop(const char* entry) {
  for (const char* key : {"GIT_DIR=", "GIT_WORK_TREE=", "GIT_INDEX_FILE=", "GIT_COMMON_DIR=",
                          "GIT_OBJECT_DIRECTORY="})
    if (std::strncmp(entry, key, std::strlen(key)) == 0)
      return true;
  return false;
}

} // namespace

std::vector<std::string> environment_without_git_vars() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    if (!ours_to_drop(*e))
      env.emplace_back(*e);
  return env;
}

caf::expected<git_cli_result> run_git(const std::string& dir, const std::vector<std::string>& args,
                                      const std::vector<std::string>& env,
                                      std::chrono::milliseconds timeout, int stop_fd) {
  spawn_request req;
  req.argv = {"git"};
  req.argv.insert(req.argv.end(), args.begin(), args.end());
  req.cwd = dir;
  req.env = environment_without_git_vars();
  req.env.insert(req.env.end(), env.begin(), env.end());
  req.env.emplace_back("GIT_TERMINAL_PROMPT=0");
  // git is ended at once at its deadline: nothing of it is worth a grace.
  auto ran = run_captured(std::move(req), timeout, std::chrono::milliseconds(0), max_output,
                          stop_fd);
  if (!ran)
    return std::move(ran.error());
  git_cli_result out;
  out.output = std::move(ran->output);
  int status = ran->outcome.status;
  if (ran->stopped)
    out.exit_code = -2;
  else if (ran->outcome.timed_out)
    out.exit_code = -1;
  else
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

std::string git_failure(const git_cli_result& r, const std::string& what) {
  if (r.exit_code == -1)
    return what + " did not end in time and was stopped";
  if (r.exit_code == -2)
    return what + " was stopped because this command was interrupted";
  auto why = git_refusal(r.output);
  return why.empty() ? what + " failed (exit " + std::to_string(r.exit_code) + ")" : why;
}

std::string git_refusal(const std::string& output) {
  std::string out;
  std::size_t pos = 0;
  bool listing = false;
  while (pos < output.size()) {
    auto end = output.find('\n', pos);
    auto line = output.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? output.size() : end + 1;
    bool said = line.rfind("error: ", 0) == 0 || line.rfind("fatal: ", 0) == 0;
    bool item = listing && !line.empty() && (line[0] == '\t' || line[0] == ' ');
    if (said) {
      line.erase(0, 7);
      listing = !line.empty() && line.back() == ':';
    } else if (item) {
      line.erase(0, line.find_first_not_of(" \t"));
    } else {
      listing = false;
      continue;
    }
    out += (out.empty() ? "" : said ? "; " : " ") + line;
  }
  return out;
}

} // namespace sf::io
