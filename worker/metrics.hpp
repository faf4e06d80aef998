#pragma once
/// `.sf/metrics.json` in a worktree: the units each milestone completed and what they cost.
///
/// Shape: `{"version":1,"milestones":{"<MID>":{"units":[{"id","slice","title","cost",
/// "startedAt","finishedAt"}...],"failedUnits":[...same fields...],"cost":<sum>}}}`.
/// `failedUnits` are attempts that failed or were stopped: no commit of theirs exists, but
/// the money they reported was spent, so `cost` counts them too. The file travels with the branch and is
/// shared by every milestone after merges, so entries of other milestones (and fields we do
/// not know) are kept exactly as read.

#include "io/files/status_file.hpp"
#include "worker/agent_unit.hpp"

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sf::worker {

/// One completed unit.
struct unit_record {
  std::string id;          ///< Unit id.
  std::string slice;       ///< Id of its slice.
  std::string title;       ///< Unit title.
  double cost = 0;         ///< USD it cost.
  int64_t started_at = 0;  ///< ms since the Unix epoch.
  int64_t finished_at = 0; ///< ms since the Unix epoch.
  std::optional<io::token_counts> tokens; ///< Tokens of an agent unit (`tokens`).
  std::string agent;       ///< The agent profile that ran it; empty for a shell unit.
  int attempt = 0;         ///< Its attempt number (agent units), 0 when not an agent's.
  std::string outcome;     ///< How the attempt ended (agent units), e.g. "verify failed".
};

/// Largest metrics file read.
constexpr std::size_t max_metrics_bytes = 16 * 1024 * 1024;

/// The parsed metrics document.
class metrics_file {
public:
  /// Path of the metrics file in `worktree`.
  static std::string path_in(const std::string& worktree);

  /// Parses metrics text; `path` is for messages. Rejects a wrong shape with the reason.
  static caf::expected<metrics_file> parse(const std::string& text, const std::string& path);

  /// Reads `<worktree>/.sf/metrics.json`; an absent file is an empty document, an empty one
  /// (a power loss before the unit's commit) is replaced by the copy committed at HEAD.
  static caf::expected<metrics_file> load(const std::string& worktree);

  /// The document committed at the worktree's HEAD (empty when HEAD has no metrics file): the
  /// units whose commits are on the branch, which is what a resumed worker trusts.
  static caf::expected<metrics_file> load_committed(const std::string& worktree);

  /// The text of `.sf/metrics.json` in the worktree's HEAD commit, nothing when it has none.
  static caf::expected<std::optional<std::string>> committed_text(const std::string& worktree);

  /// Completed units of milestone `mid`, in the order they were recorded.
  std::vector<unit_record> units(const std::string& mid) const;

  /// Failed or stopped attempts of milestone `mid`, in the order they were recorded.
  std::vector<unit_record> failed_units(const std::string& mid) const;

  /// Recorded total cost of milestone `mid` (its units and its failed attempts), 0 when none.
  double cost(const std::string& mid) const;

  /// Recorded tokens of milestone `mid` (its units and failed attempts).
  io::token_counts tokens(const std::string& mid) const;

  /// The agent session unit `unit` of `mid` recorded while it ran, if any (a worker that
  /// died left it in the worktree's copy; the next one resumes it).
  std::optional<agent_session_record> agent_session(const std::string& mid,
                                                    const std::string& unit) const;

  /// Records (or with an empty id and attempt 0, forgets) the session of `unit`.
  void set_agent_session(const std::string& mid, const std::string& unit,
                         const agent_session_record& rec);

  /// Forgets the session of `unit` (it completed).
  void clear_agent_session(const std::string& mid, const std::string& unit);

  /// Forgets the running session of `unit`, which completed, and keeps it (`lastAgentSession`)
  /// as the one a later gate fix resumes; `at_end` holds Codex's usage after the last attempt.
  void finish_agent_session(const std::string& mid, const std::string& unit,
                            const std::string& profile, const agent_session_record& at_end);

  /// The session of the agent that last completed a unit of `mid`, with the unit and profile.
  struct finished_session {
    std::string unit;            ///< The unit it completed.
    std::string profile;         ///< Its agent profile.
    agent_session_record session; ///< Session id and Codex's usage snapshot.
  };
  std::optional<finished_session> last_agent_session(const std::string& mid) const;

  /// Appends a completed unit to `mid` and updates its `cost` sum.
  void record(const std::string& mid, const unit_record& rec);

  /// Appends a failed or stopped attempt to `mid` and updates its `cost` sum.
  void record_failed(const std::string& mid, const unit_record& rec);

  /// Adds the failed attempts of `mid` that `other` holds and this document does not (same
  /// unit and start time): the worktree's copy knows attempts no commit carries yet.
  void adopt_failed(const std::string& mid, const metrics_file& other);

  /// Serialised document (indented, newline-terminated, stable for diffs).
  std::string dump() const;

  /// Writes the document atomically (not durably: the commit that follows is) to
  /// `<worktree>/.sf/metrics.json`.
  caf::error save(const std::string& worktree) const;

private:
  void append(const std::string& mid, const char* list, const unit_record& rec);

  nlohmann::json doc_ = {{"version", 1}, {"milestones", nlohmann::json::object()}};
};

} // namespace sf::worker
