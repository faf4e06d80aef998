#pragma once
/// Small helpers shared by the io tests: folder listings and file modes.

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace sf::test {

/// Sorted names of the entries of `dir` (empty when it does not exist).
inline std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

/// Number of entries of `dir` whose name contains ".tmp".
inline std::size_t count_temp_files(const std::string& dir) {
  std::size_t n = 0;
  for (const auto& name : list_dir(dir))
    if (name.find(".tmp") != std::string::npos)
      ++n;
  return n;
}

/// Permission bits of `path` (not following a link), or -1 when it cannot be stat'ed.
inline int mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return -1;
  return static_cast<int>(st.st_mode & 07777);
}

} // namespace sf::test
