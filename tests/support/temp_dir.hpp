#pragma once
/// Helpers shared by the tests: temporary folders, files, commands.

#include <string>

namespace sf::test {

/// A fresh folder under $TMPDIR, removed with everything in it on destruction.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Absolute path of the folder.
  const std::string& path() const { return path_; }

  /// `path() + "/" + rel`.
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

private:
  std::string path_;
};

/// Writes `text` to `path`, creating parent folders.
void write_file(const std::string& path, const std::string& text);

/// Whole content of `path`; throws if it cannot be read.
std::string read_file(const std::string& path);

/// Output and exit code of a command.
struct command_result {
  int exit_code = -1;  ///< Exit status, or 128+signal.
  std::string out;     ///< Standard output.
  std::string err;     ///< Standard error.
};

/// Runs `cmd` with /bin/sh -c in `cwd`, capturing stdout and stderr.
command_result run(const std::string& cmd, const std::string& cwd = ".");

/// Runs the built sf-actors CLI with `args` (already shell-quoted) in `cwd`.
command_result run_cli(const std::string& args, const std::string& cwd = ".");

/// Quotes `s` for /bin/sh.
std::string sh_quote(const std::string& s);

/// Creates a git repository with one commit on `main` in `dir`.
void init_git_repo(const std::string& dir);

} // namespace sf::test
