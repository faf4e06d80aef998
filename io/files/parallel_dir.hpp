#pragma once
/// The runtime folder `<root>/.sf/parallel`: safe creation, opening and file-name rules.

#include "io/os/safe_file.hpp"

#include <caf/expected.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace sf::io {

/// An open, checked `.sf/parallel` folder.
struct parallel_dir {
  unique_fd fd;     ///< Descriptor of `.sf/parallel`, opened without following links.
  std::string path; ///< `<root>/.sf/parallel`, for messages.
};

/// Creates `<root>/.sf` (0755) and `<root>/.sf/parallel` (0700) when missing and opens the
/// latter. Tightens a looser mode on a folder we own, refuses one owned by another user and
/// refuses symbolic links at either level with `ec::unsafe_path`.
caf::expected<parallel_dir> ensure_parallel_dir(const std::string& root);

/// Opens an existing `<root>/.sf/parallel` without creating anything; `ec::not_found` when
/// absent, `ec::unsafe_path` for a link or a folder owned by another user.
caf::expected<parallel_dir> open_parallel_dir(const std::string& root);

/// True for any name containing ".tmp": temp or claim files, never a status or signal file.
bool is_temp_name(std::string_view name);

/// Removes the temp files in `<root>/.sf/parallel` whose name starts with `prefix` (e.g.
/// "M001." or "ledger.json."): what a writer killed between writing and renaming left. Only
/// call it when no live process can still be writing under that prefix.
void remove_temp_files(const std::string& root, std::string_view prefix);

/// The two kinds of protocol files in `.sf/parallel`.
enum class parallel_file_kind { status, signal };

/// A protocol file name taken apart.
struct parallel_name {
  std::string mid;         ///< Validated milestone id.
  parallel_file_kind kind; ///< Status or signal.
};

/// Parses `<MID>.status.json` or `<MID>.signal.json`; empty for any other name (temp names,
/// invalid ids, other suffixes).
std::optional<parallel_name> parse_parallel_name(std::string_view name);

/// Error for a milestone id that is not safe to put in a path (core::valid_milestone_id).
caf::error invalid_mid_error(std::string_view id);

} // namespace sf::io
