#include "io/files/gitignore.hpp"

#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <set>
#include <string_view>

namespace sf::io {

namespace {

constexpr std::string_view header = "# sf-actors runtime files (added automatically)";

// A user's .gitignore beyond this is not something we should rewrite.
constexpr std::size_t max_gitignore_bytes = 1 << 20;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::set<std::string, std::less<>> lines_of(std::string_view text) {
  std::set<std::string, std::less<>> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    out.emplace(trim(text.substr(0, nl)));
    if (nl == std::string_view::npos)
      break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

} // namespace

const std::vector<std::string>& runtime_ignore_rules() {
  // Anchored folders for the root; `**/` catches the lock inside each worktree's own .sf too.
  static const std::vector<std::string> rules{"/.sf/parallel/", "/.sf/worktrees/", ".sf/auto.lock",
                                              "**/.sf/auto.lock"};
  return rules;
}

caf::expected<bool> ensure_runtime_ignored(const std::string& root) {
  unique_fd root_fd{::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!root_fd)
    return make_error(ec::io_error, "opening project root " + root + " failed: " +
                                        errno_text(errno) + "; pass an existing project root");
  std::string text;
  mode_t mode = 0644;
  auto current = read_file_capped(root_fd.get(), root, ".gitignore", max_gitignore_bytes);
  if (current) {
    text = std::move(*current);
    struct stat st {};
    // Keep the user's permissions on the rewritten file.
    if (::fstatat(root_fd.get(), ".gitignore", &st, AT_SYMLINK_NOFOLLOW) == 0)
      mode = st.st_mode & 07777;
  } else if (code_of(current.error()) != ec::not_found) {
    return current.error();
  }
  auto present = lines_of(text);
  std::string added;
  for (const auto& rule : runtime_ignore_rules())
    if (present.count(rule) == 0)
      added += rule + "\n";
  if (added.empty())
    return false;
  if (!text.empty() && text.back() != '\n')
    text += '\n';
  if (present.count(header) == 0)
    text += std::string(header) + "\n";
  text += added;
  if (auto err = write_file_atomic(root_fd.get(), root, ".gitignore", text, mode))
    return err;
  return true;
}

} // namespace sf::io
