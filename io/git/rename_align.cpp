// Follows renames by moving entries, so the three-way tree merge needs no notion of renames: a
// file one side renamed is moved to its new path in the base and on the other side, where the
// plain merge then meets the three versions, as merge-ort's process_renames arranges them.
#include "io/git/rename_align.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace sf::io {

namespace {

/// An entry of a tree at a full path: absent, a folder, or a file (blob, link or submodule).
struct path_entry {
  bool present = false;
  git_oid id{};
  git_filemode_t mode = GIT_FILEMODE_UNREADABLE;
  bool tree() const { return present && mode == GIT_FILEMODE_TREE; }
  bool file() const { return present && mode != GIT_FILEMODE_TREE; }
  bool regular() const {
    return present && (mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE);
  }
};

path_entry lookup(const git_tree* t, const std::string& path) {
  path_entry out;
  git_tree_entry* raw = nullptr;
  if (t == nullptr || git_tree_entry_bypath(&raw, t, path.c_str()) != 0)
    return out;
  out.present = true;
  git_oid_cpy(&out.id, git_tree_entry_id(raw));
  out.mode = git_tree_entry_filemode(raw);
  git_tree_entry_free(raw);
  return out;
}

bool same(const path_entry& a, const path_entry& b) {
  return a.present == b.present &&
         (!a.present || (a.mode == b.mode && git_oid_equal(&a.id, &b.id) != 0));
}

/// Changes to make to one tree: removals first, then insertions, so that a file leaving a path
/// can make room for a folder at that path.
struct tree_edits {
  std::set<std::string> remove;
  std::map<std::string, path_entry> insert;

  void move(const std::string& from, const std::string& to, const path_entry& e) {
    remove.insert(from);
    insert.emplace(to, e);
  }

  /// What keeps `path` from taking a file in `t` after the removals: `path` itself when a folder
  /// is there, the parent when a file sits where one of its folders would be, or nothing.
  std::string blocker(const git_tree* t, const std::string& path) const {
    if (remove.count(path) == 0 && lookup(t, path).tree() && keeps_files(t, path))
      return path;
    for (auto at = path.find('/'); at != std::string::npos; at = path.find('/', at + 1)) {
      auto dir = path.substr(0, at);
      if (insert.count(dir) != 0 || (remove.count(dir) == 0 && lookup(t, dir).file()))
        return dir;
    }
    return {};
  }

  bool empty() const { return remove.empty() && insert.empty(); }

private:
  /// True when the folder at `dir` in `t` still holds a file after the removals (git keeps no
  /// empty folders, so one whose files all leave is no obstacle).
  bool keeps_files(const git_tree* t, const std::string& dir) const {
    git_tree_entry* raw = nullptr;
    if (git_tree_entry_bypath(&raw, t, dir.c_str()) != 0)
      return false;
    git_oid id;
    git_oid_cpy(&id, git_tree_entry_id(raw));
    git_tree_entry_free(raw);
    git_tree* sub = nullptr;
    if (git_tree_lookup(&sub, git_tree_owner(t), &id) != 0)
      return true; // Unreadable: count it as in the way.
    tree_ptr owned{sub};
    for (size_t i = 0, n = git_tree_entrycount(sub); i < n; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(sub, i);
      std::string path = dir + "/" + git_tree_entry_name(e);
      if (git_tree_entry_filemode(e) == GIT_FILEMODE_TREE ? keeps_files(t, path)
                                                          : remove.count(path) == 0)
        return true;
    }
    return false;
  }
};

caf::expected<tree_ptr> apply(git_repository* repo, const git_tree* t, const tree_edits& ed) {
  git_oid id;
  if (t != nullptr)
    git_oid_cpy(&id, git_tree_id(t));
  bool have = t != nullptr;
  auto write = [&](std::vector<git_tree_update>& ups) -> caf::error {
    if (ups.empty())
      return caf::none;
    tree_ptr from;
    if (have) {
      git_tree* raw = nullptr;
      if (git_tree_lookup(&raw, repo, &id) != 0)
        return git_fail("reading a tree to follow renames", git_oid_tostr_s(&id));
      from.reset(raw);
    }
    if (git_tree_create_updated(&id, repo, from.get(), ups.size(), ups.data()) != 0)
      return git_fail("moving renamed files in a tree", ups.front().path);
    have = true;
    return caf::none;
  };
  // Each written tree costs an fsync: one pass unless a removal must make room for an insertion
  // (a file leaving where a folder comes, or a folder's files leaving where a file comes).
  bool two_passes = false;
  for (const auto& [p, e] : ed.insert) {
    for (auto at = p.find('/'); at != std::string::npos && !two_passes; at = p.find('/', at + 1))
      two_passes = ed.remove.count(p.substr(0, at)) != 0;
    auto below = ed.remove.lower_bound(p + "/");
    two_passes = two_passes || (below != ed.remove.end() && below->compare(0, p.size() + 1, p + "/") == 0);
    if (two_passes)
      break;
  }
  std::vector<git_tree_update> removals;
  for (const auto& p : ed.remove) {
    git_tree_update u{};
    u.action = GIT_TREE_UPDATE_REMOVE;
    u.path = p.c_str();
    removals.push_back(u);
  }
  std::vector<git_tree_update> inserts;
  if (two_passes) {
    if (auto err = write(removals))
      return err;
  } else {
    inserts = std::move(removals);
  }
  for (const auto& [p, e] : ed.insert) {
    git_tree_update u{};
    u.action = GIT_TREE_UPDATE_UPSERT;
    u.path = p.c_str();
    git_oid_cpy(&u.id, &e.id);
    u.filemode = e.mode;
    inserts.push_back(u);
  }
  if (auto err = write(inserts))
    return err;
  tree_ptr out;
  if (!have)
    return out;
  git_tree* raw = nullptr;
  if (git_tree_lookup(&raw, repo, &id) != 0)
    return git_fail("reading a tree with renames followed", git_oid_tostr_s(&id));
  out.reset(raw);
  return out;
}

caf::expected<tree_ptr> dup(const git_tree* t) {
  tree_ptr out;
  if (t == nullptr)
    return out;
  git_tree* raw = nullptr;
  if (git_tree_dup(&raw, const_cast<git_tree*>(t)) != 0)
    return git_fail("copying a tree handle", git_oid_tostr_s(git_tree_id(t)));
  out.reset(raw);
  return out;
}

/// Every file below `dir` in the base or the other side, by path.
void files_below(const git_tree* t, const std::string& dir, std::set<std::string>& out) {
  git_tree_entry* raw = nullptr;
  if (t == nullptr || git_tree_entry_bypath(&raw, t, dir.c_str()) != 0)
    return;
  bool tree = git_tree_entry_filemode(raw) == GIT_FILEMODE_TREE;
  git_oid id;
  git_oid_cpy(&id, git_tree_entry_id(raw));
  git_tree_entry_free(raw);
  git_tree* sub = nullptr;
  if (!tree || git_tree_lookup(&sub, git_tree_owner(t), &id) != 0)
    return;
  tree_ptr owned{sub};
  for (size_t i = 0, n = git_tree_entrycount(sub); i < n; ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(sub, i);
    std::string path = dir + "/" + git_tree_entry_name(e);
    if (git_tree_entry_filemode(e) == GIT_FILEMODE_TREE)
      files_below(t, path, out);
    else
      out.insert(path);
  }
}

/// A folder at `to` (where a side renamed a file to, so that side removed the folder) whose
/// files the merge deletes anyway (the other side left each as in the base, or deleted it) is
/// no obstacle: those files leave the base and the other side before the renamed file comes.
void clear_doomed(const git_tree* base, const git_tree* other, const std::string& to,
                  tree_edits& base_edits, tree_edits& other_edits,
                  std::vector<std::string>* ours_moved) {
  if (!lookup(base, to).tree() && !lookup(other, to).tree())
    return;
  std::set<std::string> files;
  files_below(base, to, files);
  files_below(other, to, files);
  for (const auto& f : files) {
    auto x = lookup(other, f);
    if (x.present && !same(x, lookup(base, f)))
      return; // The other side changed or added it: it stays, and so does the folder.
  }
  for (const auto& f : files) {
    if (lookup(base, f).present)
      base_edits.remove.insert(f);
    if (lookup(other, f).present) {
      other_edits.remove.insert(f);
      if (ours_moved != nullptr)
        ours_moved->push_back(f);
    }
  }
}

} // namespace

caf::expected<aligned_trees> align_renames(git_repository* repo, const git_tree* base,
                                           const git_tree* ours, const git_tree* theirs) {
  aligned_trees out;
  auto by_ours = find_renames(repo, base, ours, theirs);
  if (!by_ours)
    return std::move(by_ours.error());
  auto by_theirs = find_renames(repo, base, theirs, ours);
  if (!by_theirs)
    return std::move(by_theirs.error());
  if (by_ours->empty() && by_theirs->empty())
    return out;
  std::map<std::string, std::string> to_ours, to_theirs;
  for (const auto& r : *by_ours)
    to_ours.emplace(r.from, r.to);
  for (const auto& r : *by_theirs)
    to_theirs.emplace(r.from, r.to);
  tree_edits base_edits, ours_edits, theirs_edits;
  struct pending {
    std::string from, to;
    path_entry base_entry, other_entry;
    tree_edits* other_edits;
    const git_tree* other;
    bool other_is_ours;
  };
  std::vector<pending> moves;
  auto one_side = [&](const std::string& from, const std::string& to, const git_tree* side,
                      const git_tree* other, tree_edits& other_edits, bool other_is_ours) {
    auto b = lookup(base, from);
    auto xp = lookup(other, from);
    // The other side kept the file as it was: deleting it here and adding the new one merges
    // the same as the rename, and needs no move.
    if (same(b, xp))
      return;
    auto sq = lookup(side, to);
    auto xq = lookup(other, to);
    if (!xp.file()) {
      out.conflicts.push_back(to); // rename/delete: git lists the new path only.
      return;
    }
    bool collision = xq.file();
    bool type_changed = xp.regular() != sq.regular();
    if (type_changed && collision)
      collision = false; // merge-ort takes this for a rename it could not see on the other side.
    if (collision) {
      // rename/add or rename/rename(2to1): the renamed file's merge meets the other side's file
      // at the new path with no common base. Clean only when that merge is the other's file.
      if (same(sq, b) && same(xp, xq) && base_edits.blocker(base, to).empty()) {
        base_edits.move(from, to, b);
        other_edits.remove.insert(from);
        if (other_is_ours)
          out.ours_moved.push_back(from);
        return;
      }
      out.conflicts.push_back(to);
      base_edits.remove.insert(from);
      other_edits.remove.insert(from);
      if (other_is_ours)
        out.ours_moved.push_back(from);
      return;
    }
    if (type_changed) {
      // A file renamed on one side became a link (or the reverse) on the other: the other's
      // version stays at the old path, and the base follows the rename. With nothing of the
      // other side's at the new path, merge-ort calls that a modify/delete conflict even when
      // the renamed file is unchanged.
      base_edits.remove.insert(from);
      if (!xq.file() || !base_edits.blocker(base, to).empty())
        out.conflicts.push_back(to);
      else
        base_edits.insert.emplace(to, b);
      return;
    }
    moves.push_back({from, to, b, xp, &other_edits, other, other_is_ours});
  };
  auto o = to_ours.begin();
  auto t = to_theirs.begin();
  while (o != to_ours.end() || t != to_theirs.end()) {
    if (t == to_theirs.end() || (o != to_ours.end() && o->first < t->first)) {
      one_side(o->first, o->second, ours, theirs, theirs_edits, false);
      ++o;
    } else if (o == to_ours.end() || t->first < o->first) {
      one_side(t->first, t->second, theirs, ours, ours_edits, true);
      ++t;
    } else {
      if (o->second == t->second) {
        base_edits.move(o->first, o->second, lookup(base, o->first));
      } else {
        // rename/rename(1to2): git lists the old path and both new ones; the old path only as
        // long as no folder takes its place.
        if (!lookup(ours, o->first).tree() && !lookup(theirs, o->first).tree())
          out.conflicts.push_back(o->first);
        out.conflicts.push_back(o->second);
        out.conflicts.push_back(t->second);
      }
      ++o;
      ++t;
    }
  }
  // Plain renames: both the base's and the other side's versions follow the file, unless a
  // folder or a file is in the way of the new path in either tree.
  for (const auto& m : moves) {
    base_edits.remove.insert(m.from);
    m.other_edits->remove.insert(m.from);
  }
  for (const auto& m : moves) {
    if (m.other_is_ours)
      out.ours_moved.push_back(m.from);
    clear_doomed(base, m.other, m.to, base_edits, *m.other_edits,
                 m.other_is_ours ? &out.ours_moved : nullptr);
    auto in_other = m.other_edits->blocker(m.other, m.to);
    auto in_base = base_edits.blocker(base, m.to);
    if (in_other == m.to || in_base == m.to) {
      out.conflicts.push_back(m.to); // A folder at the new path: git's file/folder conflict.
      continue;
    }
    // A file where the new path needs a folder: the renaming side replaced it by that folder.
    // It leaves the base and the other side so the folder can hold the renamed file; when the
    // other side had changed it, git reports the file/folder conflict at that file.
    if (!in_other.empty()) {
      if (!(in_other == in_base && same(lookup(m.other, in_other), lookup(base, in_base))))
        out.conflicts.push_back(in_other);
      m.other_edits->remove.insert(in_other);
      if (m.other_is_ours)
        out.ours_moved.push_back(in_other);
    }
    if (!in_base.empty())
      base_edits.remove.insert(in_base);
    base_edits.insert.emplace(m.to, m.base_entry);
    m.other_edits->insert.emplace(m.to, m.other_entry);
    if (m.other_is_ours)
      out.ours_moved.push_back(m.to);
  }
  if (base_edits.empty() && ours_edits.empty() && theirs_edits.empty() && out.conflicts.empty())
    return out;
  out.renamed = true;
  auto nb = apply(repo, base, base_edits);
  if (!nb)
    return std::move(nb.error());
  auto no = ours_edits.empty() ? dup(ours) : apply(repo, ours, ours_edits);
  if (!no)
    return std::move(no.error());
  auto nt = theirs_edits.empty() ? dup(theirs) : apply(repo, theirs, theirs_edits);
  if (!nt)
    return std::move(nt.error());
  out.base = std::move(*nb);
  out.ours = std::move(*no);
  out.theirs = std::move(*nt);
  return out;
}

} // namespace sf::io
