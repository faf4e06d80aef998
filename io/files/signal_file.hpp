#pragma once
/// Signal files `.sf/parallel/<MID>.signal.json`: written by the coordinator, claimed by workers.

#include "io/os/safe_file.hpp"

#include <caf/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sf::io {

/// What the coordinator asks of a worker.
enum class signal_kind { pause, resume, stop, rebase };

/// Spelling in the file.
const char* to_string(signal_kind k);

/// Parses a spelling; empty when unknown.
std::optional<signal_kind> parse_signal_kind(std::string_view s);

/// One signal as in the protocol.
struct signal_message {
  signal_kind kind = signal_kind::stop; ///< `signal`.
  int64_t sent_at = 0;                  ///< `sentAt`, ms since the Unix epoch.
  std::string from = "coordinator";     ///< `from`.
};

/// Parses signal JSON (unknown fields ignored, wrong types rejected with the reason).
caf::expected<signal_message> decode_signal(std::string_view json);

/// Serialises a signal.
std::string encode_signal(const signal_message& s);

/// Path `<root>/.sf/parallel/<mid>.signal.json`.
std::string signal_path(const std::string& root, const std::string& mid);

/// Writes a signal atomically (no fsync), replacing an unclaimed older one.
caf::error send_signal(const std::string& root, const std::string& mid, signal_kind kind);

/// Claims the pending signal by renaming it to a unique name, then reads and removes the claim.
/// Empty when there is none. A signal written during the claim stays for the next call.
caf::expected<std::optional<signal_message>> consume_signal(const std::string& root,
                                                            const std::string& mid);

/// Largest signal file read; larger ones are refused unread (and removed when claimed).
constexpr std::size_t max_signal_bytes = 4096;

/// Writes the given signal (any `sentAt`) atomically (no fsync), replacing an unclaimed one.
caf::error send_signal(const std::string& root, const std::string& mid, const signal_message& msg);

/// A pending signal renamed to a private claim name, not yet read.
struct signal_claim {
  unique_fd dir;        ///< Open `.sf/parallel` folder holding the claim.
  std::string dir_path; ///< Its path, for messages.
  std::string mid;      ///< Milestone the signal was for.
  std::string name;     ///< Claim name `<MID>.signal.json.tmp.claim.<hex>` (a temp name).
};

/// First half of `consume_signal`: renames the pending signal to a claim; empty when none.
caf::expected<std::optional<signal_claim>> claim_signal(const std::string& root,
                                                        const std::string& mid);

/// Second half: reads, decodes and removes the claim. A malformed or unsafe claim is removed
/// too and reported as an error naming the signal file and the reason.
caf::expected<signal_message> finish_claim(signal_claim& claim);

} // namespace sf::io
