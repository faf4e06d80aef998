#include "config/eligibility.hpp"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace sf {

namespace {

using id_index = std::unordered_map<std::string_view, const milestone*>;

/// "A, B, C": ids joined for a reason sentence.
std::string join_ids(const std::vector<std::string_view>& ids) {
  std::string out;
  for (auto id : ids) {
    if (!out.empty())
      out += ", ";
    out += id;
  }
  return out;
}

/// Verdict for one milestone of the plan; true when it may start.
bool judge(const milestone& m, const id_index& by_id, std::string& reason) {
  if (m.status == milestone_status::complete) {
    reason = "Already complete.";
    return false;
  }
  if (m.status == milestone_status::parked) {
    reason = "Parked (status: parked); set its status to pending to run it.";
    return false;
  }
  // A dependency named twice is reported once, keeping the order of dependsOn.
  std::unordered_set<std::string_view> seen;
  std::vector<std::string_view> unknown;
  std::vector<std::string_view> incomplete;
  for (const auto& dep : m.depends_on) {
    if (!seen.insert(dep).second)
      continue;
    auto it = by_id.find(dep);
    if (it == by_id.end())
      unknown.push_back(dep);
    else if (it->second->status != milestone_status::complete)
      incomplete.push_back(dep);
  }
  if (!unknown.empty()) {
    reason = "Blocked by unknown dependencies: " + join_ids(unknown) + ".";
    return false;
  }
  if (!incomplete.empty()) {
    reason = "Blocked by incomplete dependencies: " + join_ids(incomplete) + ".";
    return false;
  }
  reason = "All dependencies satisfied.";
  return true;
}

/// One eligible milestone, with its files as interned ids.
struct candidate {
  const milestone* m = nullptr;
  std::vector<std::uint32_t> files;  ///< Distinct, in order of first appearance in its units.
  std::vector<std::uint32_t> sorted; ///< The same ids sorted, for membership tests.
};

/// For each candidate, the other candidates it depends on or that depend on it, directly or
/// through others: empty lists for a plan without dependencies, which costs one lookup per
/// dependency.
std::vector<std::vector<std::uint32_t>> dependency_relatives(const std::vector<candidate>& cands) {
  const std::size_t n = cands.size();
  std::unordered_map<std::string_view, std::uint32_t> index;
  index.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    index.emplace(cands[i].m->id, static_cast<std::uint32_t>(i));
  std::vector<std::vector<std::uint32_t>> up(n), down(n), out(n);
  bool any = false;
  for (std::size_t i = 0; i < n; ++i)
    for (const auto& dep : cands[i].m->depends_on)
      if (auto it = index.find(dep); it != index.end() && it->second != i) {
        up[i].push_back(it->second);
        down[it->second].push_back(static_cast<std::uint32_t>(i));
        any = true;
      }
  if (!any)
    return out;
  std::vector<std::size_t> seen(n, 0); // Walk number + 1 that last reached each candidate.
  std::vector<std::uint32_t> stack;
  for (std::size_t i = 0; i < n; ++i) {
    if (up[i].empty() && down[i].empty())
      continue;
    seen[i] = i + 1;
    for (const auto* edges : {&up, &down}) {
      stack.assign((*edges)[i].begin(), (*edges)[i].end());
      while (!stack.empty()) {
        auto k = stack.back();
        stack.pop_back();
        if (seen[k] == i + 1)
          continue;
        seen[k] = i + 1;
        out[i].push_back(k);
        stack.insert(stack.end(), (*edges)[k].begin(), (*edges)[k].end());
      }
    }
  }
  return out;
}

/// Finds overlapping pairs among `cands` (sorted by id) using an inverted index file -> milestones.
/// Files held by many milestones get a bitset instead of a posting walk, so a file shared by all
/// n milestones costs n/64 words per milestone rather than n, and the pairs beyond the cap are
/// counted with popcounts without ever being materialised.
void find_overlaps(const std::vector<candidate>& cands, const std::vector<std::string_view>& names,
                   std::size_t max_overlaps, eligibility_report& out) {
  const std::size_t n = cands.size();
  const std::size_t n_files = names.size();
  if (n < 2 || n_files == 0)
    return;
  // Posting lists in one flat array (CSR); filled in candidate order, hence ascending.
  std::vector<std::size_t> start(n_files + 1, 0);
  for (const auto& c : cands)
    for (auto f : c.files)
      ++start[f + 1];
  for (std::size_t f = 0; f < n_files; ++f)
    start[f + 1] += start[f];
  std::vector<std::uint32_t> postings(start[n_files]);
  {
    std::vector<std::size_t> fill(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < n; ++i)
      for (auto f : cands[i].files)
        postings[fill[f]++] = static_cast<std::uint32_t>(i);
  }
  const std::size_t words = (n + 63) / 64;
  // A posting list longer than a bitset is cheaper as a bitset; at most entries/words such files
  // exist, so their bitsets take no more memory than the postings themselves.
  constexpr std::uint32_t not_hot = UINT32_MAX;
  std::vector<std::uint32_t> hot_slot(n_files, not_hot);
  std::vector<std::uint64_t> hot_bits;
  for (std::size_t f = 0; f < n_files; ++f) {
    if (start[f + 1] - start[f] <= words)
      continue;
    hot_slot[f] = static_cast<std::uint32_t>(hot_bits.size() / words);
    hot_bits.resize(hot_bits.size() + words, 0);
    auto* bits = hot_bits.data() + hot_bits.size() - words;
    for (auto k = start[f]; k < start[f + 1]; ++k)
      bits[postings[k] / 64] |= std::uint64_t{1} << (postings[k] % 64);
  }
  std::vector<std::uint64_t> partners(words);
  // Milestones in dependency order never run side by side (the later one starts from main
  // after the earlier merged), so they are no pair: `ordered` masks each one's relatives.
  const auto relatives = dependency_relatives(cands);
  std::vector<std::uint64_t> ordered(words, 0);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i + 1 < n; ++i) {
    if (cands[i].files.empty())
      continue;
    // Bits above i: the partners b > i, so every pair is seen once, from its smaller id.
    const std::size_t first = (i + 1) / 64;
    std::fill(partners.begin() + first, partners.end(), 0);
    for (auto f : cands[i].files) {
      if (hot_slot[f] != not_hot) {
        const auto* bits = hot_bits.data() + std::size_t{hot_slot[f]} * words;
        for (std::size_t w = first; w < words; ++w)
          partners[w] |= bits[w];
      } else {
        auto beg = postings.begin() + start[f];
        auto end = postings.begin() + start[f + 1];
        for (auto it = std::upper_bound(beg, end, static_cast<std::uint32_t>(i)); it != end; ++it)
          partners[*it / 64] |= std::uint64_t{1} << (*it % 64);
      }
    }
    partners[first] &= ~std::uint64_t{0} << ((i + 1) % 64);
    if (!relatives[i].empty()) {
      for (auto r : relatives[i])
        ordered[r / 64] |= std::uint64_t{1} << (r % 64);
      for (std::size_t w = first; w < words; ++w)
        partners[w] &= ~ordered[w];
      for (auto r : relatives[i])
        ordered[r / 64] = 0;
    }
    std::uint64_t count = 0;
    for (std::size_t w = first; w < words; ++w)
      count += static_cast<std::uint64_t>(__builtin_popcountll(partners[w]));
    total += count;
    for (std::size_t w = first; w < words && out.overlaps.size() < max_overlaps; ++w) {
      for (auto bits = partners[w]; bits != 0 && out.overlaps.size() < max_overlaps;
           bits &= bits - 1) {
        const auto& b = cands[w * 64 + static_cast<std::size_t>(__builtin_ctzll(bits))];
        overlap_warning warn{cands[i].m->id, b.m->id, {}};
        for (auto f : cands[i].files)
          if (std::binary_search(b.sorted.begin(), b.sorted.end(), f))
            warn.files.emplace_back(names[f]);
        out.overlaps.push_back(std::move(warn));
      }
    }
  }
  out.overlaps_omitted = total - out.overlaps.size();
}

} // namespace

eligibility_report analyze_eligibility(const plan& p, const std::vector<std::string>& only,
                                       std::size_t max_overlaps) {
  eligibility_report out;
  id_index by_id;
  by_id.reserve(p.milestones.size());
  for (const auto& m : p.milestones)
    by_id.emplace(m.id, &m); // The first of duplicated ids wins, as in a lookup by id.
  std::vector<const milestone*> chosen;
  if (only.empty()) {
    for (const auto& m : p.milestones)
      chosen.push_back(&m);
  } else {
    std::unordered_set<std::string_view> asked;
    for (const auto& id : only) {
      if (!asked.insert(id).second)
        continue;
      if (auto it = by_id.find(id); it != by_id.end())
        chosen.push_back(it->second);
      else
        out.ineligible.push_back(
            {id, "", "Not in the plan; check the id against the folders in .sf/milestones/."});
    }
  }
  // Overlaps are looked for among every milestone still to run, not only those eligible now:
  // one waiting for a dependency shares files with the others all the same.
  std::vector<const milestone*> runnable;
  for (const auto* m : chosen) {
    std::string reason;
    if (judge(*m, by_id, reason))
      out.eligible.push_back({m->id, m->title, std::move(reason)});
    else
      out.ineligible.push_back({m->id, m->title, std::move(reason)});
    if (m->status != milestone_status::complete && m->status != milestone_status::parked)
      runnable.push_back(m);
  }
  auto by_entry_id = [](const eligibility_entry& x, const eligibility_entry& y) {
    return x.id < y.id;
  };
  std::stable_sort(out.eligible.begin(), out.eligible.end(), by_entry_id);
  std::stable_sort(out.ineligible.begin(), out.ineligible.end(), by_entry_id);
  std::stable_sort(runnable.begin(), runnable.end(),
                   [](const milestone* x, const milestone* y) { return x->id < y->id; });
  // Intern every path once; the views point into the plan, which outlives this call.
  std::unordered_map<std::string_view, std::uint32_t> file_ids;
  std::vector<std::string_view> names;
  std::vector<std::size_t> last_seen; // Candidate index + 1 that last listed each file.
  std::vector<candidate> cands;
  cands.reserve(runnable.size());
  for (const auto* m : runnable) {
    candidate c;
    c.m = m;
    for (const auto& s : m->slices)
      for (const auto& u : s.units)
        for (const auto& path : u.files) {
          if (path.empty())
            continue;
          auto [it, added] = file_ids.emplace(path, static_cast<std::uint32_t>(names.size()));
          if (added) {
            names.push_back(path);
            last_seen.push_back(0);
          }
          if (last_seen[it->second] == cands.size() + 1)
            continue;
          last_seen[it->second] = cands.size() + 1;
          c.files.push_back(it->second);
        }
    c.sorted = c.files;
    std::sort(c.sorted.begin(), c.sorted.end());
    cands.push_back(std::move(c));
  }
  find_overlaps(cands, names, max_overlaps, out);
  return out;
}

} // namespace sf
