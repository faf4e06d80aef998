#include "io/files/prompt_file.hpp"

#include "core/milestone_id.hpp"
#include "core/sf_paths.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/os/inode_release.hpp"
#include "io/os/safe_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>

namespace sf::io {

namespace {

std::string prompt_name(const std::string& mid) {
  return mid + ".prompt.md";
}

} // namespace

caf::expected<std::string> write_prompt_file(const std::string& root, const std::string& mid,
                                             std::string_view text) {
  if (!core::valid_milestone_id(mid))
    return invalid_mid_error(mid);
  auto dir = ensure_parallel_dir(root);
  if (!dir)
    return dir.error();
  auto name = prompt_name(mid);
  // The rename would replace a planted link rather than follow it; refusing says why instead.
  if (auto err = check_regular_or_absent_at(dir->fd.get(), dir->path, name))
    return err;
  // Not fsynced: the file matters only while its unit runs.
  if (auto err = write_file_replace(dir->fd.get(), dir->path, name, text, 0600))
    return err;
  return core::prompt_file(root, mid);
}

void remove_prompt_file(const std::string& root, const std::string& mid) {
  if (!core::valid_milestone_id(mid))
    return;
  auto dir = open_parallel_dir(root);
  if (!dir)
    return;
  auto name = prompt_name(mid);
  struct stat st {};
  if (::fstatat(dir->fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
    (void)unlink_deferred(dir->fd.get(), name.c_str());
}

} // namespace sf::io
