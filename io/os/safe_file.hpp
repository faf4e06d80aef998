#pragma once
/// Filesystem primitives that refuse symbolic links and write durably and atomically.

#include <caf/expected.hpp>

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "io/os/unique_fd.hpp"

namespace sf::io {

/// Closes `fd` now and reports a failing close (which can mean lost data on some filesystems).
caf::error close_checked(unique_fd& fd);

/// Text of `errno` value `err` ("No space left on device").
std::string errno_text(int err);

/// Random lowercase hex of `bytes` random bytes (2 * bytes characters).
std::string random_hex(std::size_t bytes = 8);

/// True when `name` is one plain file name: not empty, no '/', not "." or "..", no NUL.
bool valid_file_name(std::string_view name);

/// Opens a directory (O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC); a symbolic link is `ec::unsafe_path`.
caf::expected<unique_fd> open_dir_nofollow(const std::string& path);

/// Opens `name` under `dirfd` as a directory, refusing a symbolic link; `label` names it in errors.
caf::expected<unique_fd> open_dir_nofollow_at(int dirfd, const std::string& name,
                                              const std::string& label);

/// Writes `data` to `dir/name` durably and atomically with permissions `mode`.
/// Writes `<name>.tmp.<hex>`, fsyncs it, renames it over `name`, fsyncs the folder.
/// `dir_label` is the folder's path, used only in error messages.
caf::error write_file_atomic(int dirfd, const std::string& dir_label, const std::string& name,
                             std::string_view data, mode_t mode);

/// Same, opening `dir_path` with `open_dir_nofollow` first.
caf::error write_file_atomic(const std::string& dir_path, const std::string& name,
                             std::string_view data, mode_t mode);

/// Writes `data` to `dir/name` atomically but not durably: the same temp file and rename
/// without the fsyncs. A reader (or a process crash) sees the old or the new content, never
/// a mix; a power loss may leave the old, an empty or no file. For runtime files that only
/// matter while their writer lives (status, signal, control, run.json).
caf::error write_file_replace(int dirfd, const std::string& dir_label, const std::string& name,
                              std::string_view data, mode_t mode);

/// Same, opening `dir_path` with `open_dir_nofollow` first.
caf::error write_file_replace(const std::string& dir_path, const std::string& name,
                              std::string_view data, mode_t mode);

/// What a non-regular file is, in words ("a FIFO", "a folder", "a symbolic link", ...).
std::string file_type_text(mode_t mode);

/// The one-line refusal for the runtime file `path` that is not a regular file (`mode` from
/// lstat or fstat): names it, says what it is and how to fix it. Code `ec::unsafe_path`.
caf::error not_regular_error(const std::string& path, mode_t mode);

/// Opens the runtime file `dir/name` (`dirfd` open on `dir_label`): `flags` (O_RDONLY, O_RDWR,
/// O_WRONLY, O_CREAT, O_APPEND, O_EXCL, O_TRUNC) plus O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, so a
/// planted link is never followed and a FIFO never blocks; then fstat must show a regular
/// file, and O_NONBLOCK is cleared again for ordinary blocking I/O. `ec::not_found` when absent
/// (and O_CREAT not given), `not_regular_error` for a link, FIFO, folder, socket or device.
/// O_TRUNC is applied only after the check (a refused file is never changed).
caf::expected<unique_fd> open_regular_at(int dirfd, const std::string& dir_label,
                                         const std::string& name, int flags, mode_t mode = 0600);

/// Same for a path: its folder is opened as given (it may be reached through links, like a
/// project root under /tmp), its last component as above.
caf::expected<unique_fd> open_regular(const std::string& path, int flags, mode_t mode = 0600);

/// Checks without opening that `dir/name` is absent or a regular file (lstat).
caf::error check_regular_or_absent_at(int dirfd, const std::string& dir_label,
                                      const std::string& name);

/// Reads the regular file `dir/name` of at most `cap` bytes, refusing links and other types.
/// `ec::not_found` when absent, `ec::unsafe_path` for a link, `ec::invalid_input` when too big.
caf::expected<std::string> read_file_capped(int dirfd, const std::string& dir_label,
                                            const std::string& name, std::size_t cap);

/// Same for a path: its folder is opened normally, its last component with O_NOFOLLOW.
caf::expected<std::string> read_file_capped(const std::string& path, std::size_t cap);

/// Appends `[sf-actors] <line>` to the log at `path` (created 0600, never through a link), so a
/// reader sees where a command's output starts and how it ended; a log that cannot be written
/// is skipped, as the command must run all the same.
void note_in_log(const std::string& path, const std::string& line);

} // namespace sf::io
