#include "support/temp_dir.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace sf::test {

temp_dir::temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sf-test-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed for " + tmpl);
  path_ = fs::canonical(tmpl).string();
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

void write_file(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out)
    throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

command_result run(const std::string& cmd, const std::string& cwd) {
  temp_dir outdir;
  auto out_path = outdir / "out";
  auto err_path = outdir / "err";
  auto full = "cd " + sh_quote(cwd) + " && { " + cmd + "; } >" + sh_quote(out_path) + " 2>" +
              sh_quote(err_path) + " </dev/null";
  int status = std::system(full.c_str());
  command_result r;
  if (WIFEXITED(status))
    r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    r.exit_code = 128 + WTERMSIG(status);
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  return r;
}

command_result run_cli(const std::string& args, const std::string& cwd) {
  return run(sh_quote(SF_CLI_PATH) + " " + args, cwd);
}

void init_git_repo(const std::string& dir) {
  fs::create_directories(dir);
  auto r = run("git init -q -b main . && git config user.email t@example.com && "
               "git config user.name tester && git config commit.gpgsign false && "
               "echo seed > README && git add README && git commit -q -m seed",
               dir);
  if (r.exit_code != 0)
    throw std::runtime_error("git init failed in " + dir + ": " + r.err);
}

} // namespace sf::test
