// The CLI's text for a merge report, the same whether it merged itself or a coordinator did.
#include "cli/merge_report_text.hpp"
#include "core/merge_kind.hpp"

#include <catch2/catch.hpp>

TEST_CASE("the merge report text shows every kind of result", "[cli]") {
  auto outcome = [](std::string mid, std::string kind) {
    sf::merge_outcome x;
    x.milestone = std::move(mid);
    auto k = sf::core::parse_merge_kind(kind);
    REQUIRE(k);
    x.kind = *k;
    return x;
  };
  sf::merge_report r;
  auto merged = outcome("M002", "merged");
  r.results.push_back(merged);
  auto pushed = outcome("M003", "merged");
  pushed.pushed = true;
  r.results.push_back(pushed);
  auto push_failed = outcome("M004", "merged");
  push_failed.push_error = "remote rejected";
  r.results.push_back(push_failed);
  auto slice = outcome("M005", "merged");
  slice.slice = "S01";
  r.results.push_back(slice);
  r.results.push_back(outcome("M006", "would_merge"));
  r.results.push_back(outcome("M007", "already_merged"));
  auto conflict = outcome("M008", "conflict");
  conflict.files = {"src/types.ts", "src/middleware.ts"};
  r.results.push_back(conflict);
  auto dirty = outcome("M009", "dirty_checkout");
  dirty.files = {"shared.txt"};
  r.results.push_back(dirty);
  auto waiting = outcome("M010", "waiting");
  waiting.text = "waits for M002";
  r.results.push_back(waiting);
  auto locked = outcome("M011", "locked");
  locked.text = "main.lock exists";
  r.results.push_back(locked);
  auto failed = outcome("M012", "failed");
  failed.text = "cannot read main";
  r.results.push_back(failed);
  auto blocked = outcome("M015", "blocked");
  blocked.text = "a rebase is in progress in /repo";
  r.results.push_back(blocked);
  auto predicted = outcome("M013", "would_conflict");
  predicted.text = "M014";
  predicted.files = {"a.txt"};
  r.results.push_back(predicted);
  CHECK(sf::cli::render_merge_report(r) ==
        "# Merge Results\n\n"
        "- **M002** — merged successfully\n"
        "- **M003** — merged successfully (pushed)\n"
        "- **M004** — merged successfully\n"
        "  push failed: remote rejected (the local merge stays)\n"
        "- **M005** (S01) — merged successfully\n"
        "- **M006** — would merge cleanly\n"
        "- **M007** — already merged (nothing to do)\n"
        "- **M008** — CONFLICT (2 file(s)):\n"
        "  - `src/types.ts`\n"
        "  - `src/middleware.ts`\n"
        "  Resolve conflicts manually and run `sf-actors merge M008` to retry.\n"
        "- **M009** — not merged yet: uncommitted changes of yours in the checkout of main "
        "are in the way:\n"
        "  - `shared.txt`\n"
        "  Commit, stash or undo them; then run `sf-actors merge M009`.\n"
        "- **M010** — waiting: waits for M002\n"
        "- **M011** — not merged yet: main.lock exists; then run `sf-actors merge M011`.\n"
        "- **M012** — failed: cannot read main\n"
        "- **M015** — not merged yet: a rebase is in progress in /repo; then run "
        "`sf-actors merge M015`.\n"
        "- **M013** — would conflict with M014 in 1 file(s):\n"
        "  - `a.txt`\n");
  r.results.clear();
  r.queue_retries = true;
  r.results.push_back(blocked);
  CHECK(sf::cli::render_merge_report(r) ==
        "# Merge Results\n\n"
        "- **M015** — not merged yet: a rebase is in progress in /repo; the merge goes on by "
        "itself once that is done.\n");
  CHECK(sf::cli::render_merge_report({}) ==
        "# Merge Results\n\n- nothing to merge: no completed milestone is waiting\n");
}
