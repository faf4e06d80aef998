#pragma once
/// Filesystem primitives that refuse symbolic links and write durably and atomically.

#include <caf/expected.hpp>

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "io/unique_fd.hpp"

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

/// Reads the regular file `dir/name` of at most `cap` bytes, refusing links and other types.
/// `ec::not_found` when absent, `ec::unsafe_path` for a link, `ec::invalid_input` when too big.
caf::expected<std::string> read_file_capped(int dirfd, const std::string& dir_label,
                                            const std::string& name, std::size_t cap);

/// Same for a path: its folder is opened normally, its last component with O_NOFOLLOW.
caf::expected<std::string> read_file_capped(const std::string& path, std::size_t cap);

} // namespace sf::io
