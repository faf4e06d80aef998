// Rename detection that picks the pairs merge-ort (git 2.39) picks. Each rule below mirrors one
// of git's (diffcore-rename, diffcore-delta, merge-ort's collect_merge_info), because a merge that
// pairs files differently than git gives a different tree.
#include "io/git/rename_align.hpp"

#include "io/git/tree_merge.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string_view>
#include <unordered_map>

namespace sf::io {

namespace {

constexpr int max_score = 60000;        // git's MAX_SCORE.
constexpr int min_score = 30000;        // 50 %, git's default rename threshold.
constexpr int basename_score = 45000;   // Halfway to identical, for same-named files.
constexpr std::size_t rename_limit = 7000; // merge-ort's default merge.renameLimit.

bool is_regular(git_filemode_t m) {
  return m == GIT_FILEMODE_BLOB || m == GIT_FILEMODE_BLOB_EXECUTABLE;
}

/// Why merge-ort wants to know where a deleted file went.
enum class relevance { none, location, content };

/// How a folder the side removed counts for guessing folder renames (merge-ort's values).
enum class dir_flag { not_relevant, for_ancestor, for_self };

struct candidate {
  std::string path;
  git_oid id;
  git_filemode_t mode;
  relevance why = relevance::none;
  bool used = false;
};

bool is_empty_blob(const git_oid& id) {
  static const git_oid empty = [] {
    git_oid o;
    git_oid_fromstr(&o, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    return o;
  }();
  return git_oid_equal(&id, &empty) != 0;
}

std::string dirname_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string{} : path.substr(0, slash);
}

std::string basename_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// git's basename_same: the last path components are equal.
bool basename_same(std::string_view a, std::string_view b) {
  auto name = [](std::string_view p) {
    auto slash = p.rfind('/');
    return slash == std::string_view::npos ? p : p.substr(slash + 1);
  };
  return name(a) == name(b);
}

/// Collects one side's deleted and added files, skipping subtrees the side left as they were, and
/// the facts merge-ort derives on the way: which deletions matter and which folders the side
/// removed.
class collector {
public:
  /// With `probe`, the walk only enters folders where a relevant deletion can be: it finds every
  /// relevant source, and not all of the rest.
  collector(tree_store& store, bool probe) : store_(store), probe_(probe) {}

  std::vector<candidate> sources, dests;
  std::map<std::string, dir_flag> dirs_removed;

  /// The folder state merge-ort calls dir_rename_mask: which side kept a folder the other removed
  /// (side or other), or that a folder rename must be looked for below here (both).
  enum class mask { none, side, other, both };

  caf::error walk(const std::string& prefix, const git_tree* b, const git_tree* s,
                  const git_tree* o, mask m) {
    auto joined = join_names(folder{b}, folder{s}, folder{o});
    // merge-ort reads a folder whole before it walks it when one side removed a folder the other
    // kept: a file only the keeping side has (added there) means a folder rename must be sought.
    if (m == mask::side || m == mask::other)
      for (const auto& j : joined) {
        const auto &eb = j.at[0], &es = j.at[1], &eo = j.at[2];
        bool only_side = es.file() && !eb.file() && !eo.file();
        bool only_other = eo.file() && !eb.file() && !es.file();
        if ((m == mask::side && only_side) || (m == mask::other && only_other))
          m = mask::both;
      }
    for (const auto& j : joined) {
      if (prefix.empty() && j.name == ".sf")
        continue; // State files merge by their own rules, never as renames.
      const auto &eb = j.at[0], &es = j.at[1], &eo = j.at[2];
      // A file only the other side has, below a folder this side removed: merge-ort then wants
      // to know where this side moved the file's folder.
      if (m == mask::both && eo.file() && !eb.file() && !es.file())
        dirs_removed[prefix.empty() ? std::string{} : prefix.substr(0, prefix.size() - 1)] =
          dir_flag::for_self;
      if (same_entry(eb, es))
        continue; // Nothing deleted or added here on this side.
      std::string path = prefix + std::string{j.name};
      if (eb.file() && !es.file() && !is_empty_blob(eb.id)) {
        candidate c{path, eb.id, eb.mode};
        if (!same_entry(eb, eo))
          c.why = relevance::content; // The other side changed or deleted it.
        else if (m == mask::both)
          c.why = relevance::location;
        sources.push_back(std::move(c));
      }
      if (es.file() && !eb.file() && !is_empty_blob(es.id))
        dests.push_back({path, es.id, es.mode});
      if (!eb.tree() && !es.tree())
        continue;
      mask child = m;
      bool dir_in_two = eb.tree() && (es.tree() != eo.tree());
      if (m != mask::both && dir_in_two)
        child = es.tree() ? mask::side : mask::other;
      if (eb.tree() && !es.tree())
        dirs_removed[path] = child == mask::both ? dir_flag::for_ancestor : dir_flag::not_relevant;
      // A deletion matters when the other side changed the file (so changed every folder above
      // it) or lies below a folder whose rename is sought (mask both, which only a folder the
      // other side changed can start).
      if (probe_ && child != mask::both && same_entry(eb, eo))
        continue;
      auto bt = load(eb), st = load(es), ot = load(eo);
      for (auto* loaded : {&bt, &st, &ot})
        if (!*loaded)
          return std::move(loaded->error());
      if (auto err = walk(path + "/", *bt, *st, *ot, child))
        return err;
    }
    return caf::none;
  }

private:
  caf::expected<const git_tree*> load(const folder_entry& e) {
    if (!e.tree())
      return nullptr;
    return store_.read(e.id);
  }

  tree_store& store_;
  bool probe_;
};

/// A blob's content as git's similarity estimate sees it: bytes per chunk (a line, or 64 bytes),
/// sorted by the chunk's hash.
struct chunk_counts {
  std::size_t size = 0;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> counts;
};

/// Cuts `data` into chunks as git's diffcore-delta does: a chunk ends at a newline or after 64
/// bytes, a CR before LF is ignored in text, and bytes after the last full chunk are not counted.
/// Chunks are told apart by a 64-bit hash of their bytes.
chunk_counts count_chunks(const char* data, std::size_t size) {
  chunk_counts out;
  out.size = size;
  bool text = std::memchr(data, '\0', std::min<std::size_t>(size, 8000)) == nullptr;
  std::unordered_map<std::uint64_t, std::uint32_t> by_hash;
  std::uint64_t h = 1469598103934665603ull;
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < size; ++i) {
    auto c = static_cast<unsigned char>(data[i]);
    if (text && c == '\r' && i + 1 < size && data[i + 1] == '\n')
      continue;
    h = (h ^ c) * 1099511628211ull;
    if (++n < 64 && c != '\n')
      continue;
    by_hash[h ^ n] += n;
    h = 1469598103934665603ull;
    n = 0;
  }
  out.counts.assign(by_hash.begin(), by_hash.end());
  std::sort(out.counts.begin(), out.counts.end());
  return out;
}

/// Pairs of sources and destinations, chosen by git's rules.
class matcher {
public:
  matcher(git_repository* repo, std::vector<candidate>& src, std::vector<candidate>& dst,
          const std::map<std::string, dir_flag>& dirs_removed)
      : repo_(repo), src_(src), dst_(dst), dirs_removed_(dirs_removed) {}

  std::vector<file_rename> renames;

  caf::error run() {
    exact();
    std::vector<std::size_t> left; // Sources not yet used, in path order.
    for (std::size_t i = 0; i < src_.size(); ++i)
      if (!src_[i].used)
        left.push_back(i);
    if (auto err = by_basename(left))
      return err;
    // Only the sources merge-ort calls relevant take part in the full comparison.
    std::vector<std::size_t> rest;
    for (auto i : left)
      if (!src_[i].used && src_[i].why != relevance::none)
        rest.push_back(i);
    std::vector<std::size_t> dests;
    for (std::size_t i = 0; i < dst_.size(); ++i)
      if (!dst_[i].used)
        dests.push_back(i);
    if (rest.empty() || dests.empty() || rest.size() * dests.size() > rename_limit * rename_limit)
      return caf::none;
    return inexact(rest, dests);
  }

private:
  void record(std::size_t d, std::size_t s, int score) {
    dst_[d].used = true;
    src_[s].used = true;
    renames.push_back({src_[s].path, dst_[d].path, score});
  }

  /// git's find_exact_renames: per destination, the first unused source with the same blob,
  /// preferring one of the same file name; non-regular files only pair with the same mode.
  void exact() {
    std::unordered_multimap<git_oid, std::size_t, oid_hash, oid_equal> by_id;
    for (std::size_t i = 0; i < src_.size(); ++i)
      by_id.emplace(src_[i].id, i);
    for (std::size_t d = 0; d < dst_.size(); ++d) {
      auto range = by_id.equal_range(dst_[d].id);
      std::vector<std::size_t> same;
      for (auto it = range.first; it != range.second; ++it)
        same.push_back(it->second);
      std::sort(same.begin(), same.end());
      long best = -1;
      int best_score = -1;
      for (auto s : same) {
        const auto& a = src_[s];
        if (a.used)
          continue;
        if ((!is_regular(a.mode) || !is_regular(dst_[d].mode)) && a.mode != dst_[d].mode)
          continue;
        int score = 1 + (basename_same(a.path, dst_[d].path) ? 1 : 0);
        if (score > best_score) {
          best = static_cast<long>(s);
          best_score = score;
          if (score == 2)
            break;
        }
      }
      if (best >= 0)
        record(d, static_cast<std::size_t>(best), max_score);
    }
  }

  /// git's update_dir_rename_counts: a rename out of a removed folder votes for where it went.
  void count_dir_rename(const std::string& from, const std::string& to) {
    std::string old_dir = from, new_dir = to;
    bool first = true;
    while (true) {
      auto old_parent = dirname_of(old_dir), new_parent = dirname_of(new_dir);
      auto it = dirs_removed_.find(old_parent);
      if (it == dirs_removed_.end())
        break;
      if (!first && basename_of(old_dir) != basename_of(new_dir))
        break;
      if (it->second == dir_flag::for_self || first)
        ++dir_votes_[old_parent][new_parent];
      first = false;
      if (it->second == dir_flag::not_relevant || old_parent.empty() || new_parent.empty())
        break;
      old_dir = old_parent;
      new_dir = new_parent;
    }
  }

  /// git's find_basename_matches: a relevant source whose file name is unique among the sources
  /// left is compared with the one destination of that name, at 75 %. When the name is not
  /// unique, the folder the source's folder most likely moved to (by the exact renames) is tried.
  caf::error by_basename(const std::vector<std::size_t>& left) {
    for (const auto& r : renames)
      count_dir_rename(r.from, r.to);
    std::map<std::string, std::string> guess;
    for (const auto& [old_dir, votes] : dir_votes_) {
      int best = 0;
      for (const auto& [new_dir, n] : votes)
        if (n > best) {
          best = n;
          guess[old_dir] = new_dir;
        }
    }
    std::unordered_map<std::string, long> src_names, dst_names, dst_paths;
    for (auto i : left) {
      auto [it, fresh] = src_names.emplace(basename_of(src_[i].path), static_cast<long>(i));
      if (!fresh)
        it->second = -1;
    }
    for (std::size_t d = 0; d < dst_.size(); ++d) {
      if (dst_[d].used)
        continue;
      dst_paths.emplace(dst_[d].path, static_cast<long>(d));
      auto [it, fresh] = dst_names.emplace(basename_of(dst_[d].path), static_cast<long>(d));
      if (!fresh)
        it->second = -1;
    }
    for (auto i : left) {
      if (src_[i].why == relevance::none)
        continue;
      auto name = basename_of(src_[i].path);
      auto dn = dst_names.find(name);
      if (dn == dst_names.end())
        continue;
      long d = dn->second;
      if (src_names[name] == -1 || d == -1) {
        d = -1;
        auto g = guess.find(dirname_of(src_[i].path));
        if (g != guess.end()) {
          auto p = dst_paths.find(g->second + "/" + name);
          if (p != dst_paths.end())
            d = p->second;
        }
      }
      if (d < 0 || dst_[static_cast<std::size_t>(d)].used)
        continue;
      auto score = similarity(i, static_cast<std::size_t>(d), basename_score);
      if (!score)
        return std::move(score.error());
      if (*score < basename_score)
        continue;
      record(static_cast<std::size_t>(d), i, *score);
    }
    return caf::none;
  }

  struct slot {
    long src = -1, dst = -1;
    int score = 0;
    int name_score = 0;
  };

  /// git's score_compare: positive when `a` ranks below `b` (unused slots rank lowest).
  static int rank(const slot& a, const slot& b) {
    if (a.dst < 0)
      return b.dst >= 0 ? 1 : 0;
    if (b.dst < 0)
      return -1;
    if (a.score == b.score)
      return b.name_score - a.name_score;
    return b.score - a.score;
  }

  /// git's inexact pass: the four best sources per destination, then all pairs from the most
  /// similar down, each file used once.
  caf::error inexact(const std::vector<std::size_t>& srcs, const std::vector<std::size_t>& dests) {
    std::vector<slot> mx(dests.size() * 4);
    for (std::size_t k = 0; k < dests.size(); ++k) {
      slot* m = &mx[k * 4];
      for (auto s : srcs) {
        auto score = similarity(s, dests[k], min_score);
        if (!score)
          return std::move(score.error());
        slot o{static_cast<long>(s), static_cast<long>(dests[k]), *score,
               basename_same(src_[s].path, dst_[dests[k]].path) ? 1 : 0};
        int worst = 0;
        for (int j = 1; j < 4; ++j)
          if (rank(m[j], m[worst]) > 0)
            worst = j;
        if (rank(m[worst], o) > 0)
          m[worst] = o;
      }
    }
    std::stable_sort(mx.begin(), mx.end(),
                     [](const slot& a, const slot& b) { return rank(a, b) < 0; });
    for (const auto& m : mx) {
      if (m.dst < 0 || m.score < min_score)
        break;
      auto d = static_cast<std::size_t>(m.dst), s = static_cast<std::size_t>(m.src);
      if (dst_[d].used || src_[s].used)
        continue;
      record(d, s, m.score);
    }
    return caf::none;
  }

  caf::expected<const chunk_counts*> chunks_of(const git_oid& id) {
    auto it = chunks_.find(id);
    if (it != chunks_.end())
      return &it->second;
    git_blob* raw = nullptr;
    if (git_blob_lookup(&raw, repo_, &id) != 0)
      return git_fail("reading a blob for rename detection", git_oid_tostr_s(&id));
    blob_ptr blob{raw};
    auto size = static_cast<std::size_t>(git_blob_rawsize(raw));
    auto counts = count_chunks(static_cast<const char*>(git_blob_rawcontent(raw)), size);
    return &chunks_.emplace(id, std::move(counts)).first->second;
  }

  caf::expected<std::size_t> size_of(const git_oid& id) {
    auto it = chunks_.find(id);
    if (it != chunks_.end())
      return it->second.size;
    auto sz = sizes_.find(id);
    if (sz != sizes_.end())
      return sz->second;
    git_odb* odb = nullptr;
    if (git_repository_odb(&odb, repo_) != 0)
      return git_fail("opening the object database", git_repository_path(repo_));
    odb_ptr owned{odb};
    size_t len = 0;
    git_object_t type{};
    if (git_odb_read_header(&len, &type, odb, &id) != 0)
      return git_fail("reading a blob's size", git_oid_tostr_s(&id));
    sizes_.emplace(id, len);
    return len;
  }

  /// git's estimate_similarity: 0 for anything but regular files or for sizes too far apart,
  /// else the bytes of the destination's chunks found in the source, over the larger size.
  caf::expected<int> similarity(std::size_t s, std::size_t d, int minimum) {
    const auto& a = src_[s];
    const auto& b = dst_[d];
    if (!is_regular(a.mode) || !is_regular(b.mode))
      return 0;
    auto sa = size_of(a.id);
    if (!sa)
      return std::move(sa.error());
    auto sb = size_of(b.id);
    if (!sb)
      return std::move(sb.error());
    std::uint64_t max_size = std::max(*sa, *sb), base_size = std::min(*sa, *sb);
    std::uint64_t delta = max_size - base_size;
    if (max_size * static_cast<std::uint64_t>(max_score - minimum) <
        delta * static_cast<std::uint64_t>(max_score))
      return 0;
    auto ca = chunks_of(a.id);
    if (!ca)
      return std::move(ca.error());
    auto cb = chunks_of(b.id);
    if (!cb)
      return std::move(cb.error());
    if (*sb == 0)
      return 0;
    std::uint64_t copied = 0;
    const auto& x = (*ca)->counts;
    const auto& y = (*cb)->counts;
    for (std::size_t i = 0, j = 0; i < x.size() && j < y.size();) {
      if (x[i].first < y[j].first)
        ++i;
      else if (y[j].first < x[i].first)
        ++j;
      else {
        copied += std::min(x[i].second, y[j].second);
        ++i;
        ++j;
      }
    }
    return static_cast<int>(copied * max_score / max_size);
  }

  git_repository* repo_;
  std::vector<candidate>& src_;
  std::vector<candidate>& dst_;
  const std::map<std::string, dir_flag>& dirs_removed_;
  std::map<std::string, std::map<std::string, int>> dir_votes_;
  std::unordered_map<git_oid, chunk_counts, oid_hash, oid_equal> chunks_;
  std::unordered_map<git_oid, std::size_t, oid_hash, oid_equal> sizes_;
};

} // namespace

caf::expected<std::vector<file_rename>> find_renames(tree_store& store, const git_tree* base,
                                                     const git_tree* side,
                                                     const git_tree* other) {
  std::vector<file_rename> out;
  if (base != nullptr && side != nullptr && git_oid_equal(git_tree_id(base), git_tree_id(side)))
    return out;
  auto any_relevant = [](const collector& c) {
    return std::any_of(c.sources.begin(), c.sources.end(),
                       [](const candidate& s) { return s.why != relevance::none; });
  };
  // merge-ort looks for no rename at all on a side whose deletions the other side never touched.
  // Those can only be where both sides changed something: a walk of just that part tells, and
  // spares the walk of everything else the side changed (on a main with many merges, most of it).
  collector probe{store, true};
  if (auto err = probe.walk("", base, side, other, collector::mask::none))
    return err;
  if (!any_relevant(probe))
    return out;
  collector c{store, false};
  if (auto err = c.walk("", base, side, other, collector::mask::none))
    return err;
  if (c.dests.empty())
    return out;
  // Path order is git's order: its tie rules pick the first candidate. The walk finds them in
  // nearly that order (depth first), often exactly.
  auto by_path = [](const candidate& a, const candidate& b) { return a.path < b.path; };
  for (auto* list : {&c.sources, &c.dests})
    if (!std::is_sorted(list->begin(), list->end(), by_path))
      std::sort(list->begin(), list->end(), by_path);
  matcher m{store.repo(), c.sources, c.dests, c.dirs_removed};
  if (auto err = m.run())
    return err;
  out = std::move(m.renames);
  auto by_from = [](const file_rename& a, const file_rename& b) { return a.from < b.from; };
  if (!std::is_sorted(out.begin(), out.end(), by_from))
    std::sort(out.begin(), out.end(), by_from);
  return out;
}

} // namespace sf::io
