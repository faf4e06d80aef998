#include "io/os/executable_lookup.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <sstream>

namespace sf::io {

std::optional<std::string> program_word(const std::string& command_line) {
  static constexpr std::array builtins = {"exec", "cd",     "command", "eval",  ".",    "source",
                                          "set",  "export", "if",      "for",   "while", "case",
                                          "{",    "(",      "!",       "until", "time",  "trap"};
  std::istringstream words{command_line};
  std::string word;
  while (words >> word) {
    if (word.find_first_of("\"'`$\\|;&<>(){}*?[]~#") != std::string::npos)
      return std::nullopt; // The shell decides what runs.
    auto eq = word.find('=');
    if (eq != std::string::npos && eq > 0 && word.find('/') > eq)
      continue; // An assignment before the program.
    for (const char* b : builtins)
      if (word == b)
        return std::nullopt;
    return word;
  }
  return std::nullopt;
}

namespace {

bool runnable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

} // namespace

std::string why_not_executable(const std::string& program, const std::string& cwd) {
  if (program.find('/') != std::string::npos) {
    auto path = program.front() == '/' ? program : cwd + "/" + program;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
      return path + " does not exist";
    if (!S_ISREG(st.st_mode))
      return path + " is not a regular file";
    if (::access(path.c_str(), X_OK) != 0)
      return path + " is not executable (chmod +x it)";
    return {};
  }
  const char* env = std::getenv("PATH");
  std::string search = env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin";
  std::istringstream dirs{search};
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (runnable((dir.empty() ? std::string(".") : dir) + "/" + program))
      return {};
  return "`" + program + "` is not found on PATH (" + search + ")";
}

} // namespace sf::io
