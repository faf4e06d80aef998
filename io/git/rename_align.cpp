// Follows renames by moving entries, so the three-way tree merge needs no notion of renames: a
// file one side renamed is moved to its new path in the base and on the other side, where the
// plain merge then meets the three versions, as merge-ort's process_renames arranges them.
// The moved trees are built in the store's memory, not written: they are input to the merge,
// and each tree written would cost an fsync.
#include "io/git/rename_align.hpp"

#include "messages/error.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

namespace sf::io {

namespace {

using path_entry = folder_entry;

/// Changes to make to one tree: removals first, then insertions, so that a file leaving a path
/// can make room for a folder at that path.
struct tree_edits {
  std::set<std::string> remove;
  std::map<std::string, path_entry> insert;

  void move(const std::string& from, const std::string& to, const path_entry& e) {
    remove.insert(from);
    insert.emplace(to, e);
  }

  bool empty() const { return remove.empty() && insert.empty(); }
};

/// A folder being edited in memory: its entries by name, with the folders opened for editing.
struct draft {
  struct item {
    folder_item entry;
    std::unique_ptr<draft> sub; ///< Set once an edit went into this folder.
  };
  std::map<std::string, item> items;
  bool dirty = false;
};

/// The object type a mode stands for: a folder, a submodule or a blob; a tree edit never
/// replaces one type by another (git_tree_create_updated refuses that too).
int type_of(git_filemode_t mode) {
  return mode == GIT_FILEMODE_TREE ? 0 : mode == GIT_FILEMODE_COMMIT ? 1 : 2;
}

/// Reads trees for the alignment through the store; the first read failure is kept in `failed`
/// (a path that cannot be read counts as absent until then) and ends the alignment.
class reader {
public:
  explicit reader(tree_store& store) : store_(store) {}

  caf::error failed;

  path_entry lookup(const folder& t, const std::string& path) {
    if (!t.exists())
      return {};
    auto e = store_.find_path(t, path);
    if (!e) {
      note(std::move(e.error()));
      return {};
    }
    return *e;
  }

  folder open(const path_entry& e) {
    auto f = store_.open(e);
    if (!f) {
      note(std::move(f.error()));
      return {};
    }
    return *f;
  }

  /// What keeps `path` from taking a file in `t` after the removals of `ed`: `path` itself when
  /// a folder is there, the parent when a file sits where one of its folders would be, or
  /// nothing.
  std::string blocker(const tree_edits& ed, const folder& t, const std::string& path) {
    if (ed.remove.count(path) == 0 && lookup(t, path).tree() && keeps_files(ed, t, path))
      return path;
    for (auto at = path.find('/'); at != std::string::npos; at = path.find('/', at + 1)) {
      auto dir = path.substr(0, at);
      if (ed.insert.count(dir) != 0 || (ed.remove.count(dir) == 0 && lookup(t, dir).file()))
        return dir;
    }
    return {};
  }

  /// True when the folder at `dir` in `t` still holds a file after the removals of `ed` (git
  /// keeps no empty folders, so one whose files all leave is no obstacle).
  bool keeps_files(const tree_edits& ed, const folder& t, const std::string& dir) {
    auto e = lookup(t, dir);
    if (!e.present)
      return false;
    folder sub = open(e);
    for (std::size_t i = 0, n = sub.size(); i < n; ++i) {
      std::string path = dir + "/" + sub.name(i);
      if (sub.find(sub.name(i)).tree() ? keeps_files(ed, t, path) : ed.remove.count(path) == 0)
        return true;
    }
    return false;
  }

  /// Every file below `dir` in `t`, by path.
  void files_below(const folder& t, const std::string& dir, std::set<std::string>& out) {
    auto e = lookup(t, dir);
    if (!e.tree())
      return;
    folder sub = open(e);
    for (std::size_t i = 0, n = sub.size(); i < n; ++i) {
      std::string path = dir + "/" + sub.name(i);
      if (sub.find(sub.name(i)).tree())
        files_below(t, path, out);
      else
        out.insert(path);
    }
  }

  /// `t` with the edits made, held in the store's memory; `t` itself when nothing changes.
  caf::expected<folder> apply(const folder& t, const tree_edits& ed) {
    if (ed.empty())
      return t;
    draft root;
    fill(root, t);
    for (const auto& p : ed.remove)
      remove(root, p, 0);
    for (const auto& [p, e] : ed.insert)
      if (auto err = insert(root, p, 0, e))
        return err;
    if (failed)
      return failed;
    if (!root.dirty)
      return t;
    return store_.open(finish(root));
  }

private:
  void note(caf::error err) {
    if (!failed)
      failed = std::move(err);
  }

  void fill(draft& d, const folder& f) {
    for (std::size_t i = 0, n = f.size(); i < n; ++i) {
      auto it = f.item(i);
      auto name = it.name;
      d.items.emplace(std::move(name), draft::item{std::move(it), nullptr});
    }
  }

  draft& opened(draft::item& it) {
    if (it.sub == nullptr) {
      it.sub = std::make_unique<draft>();
      path_entry e{true, it.entry.id, GIT_FILEMODE_TREE};
      fill(*it.sub, open(e));
    }
    return *it.sub;
  }

  /// Removes the entry at `path` (from `start`) if there is one; a folder left empty goes too,
  /// as git keeps no empty folders. True when `d` changed.
  bool remove(draft& d, const std::string& path, std::size_t start) {
    auto slash = path.find('/', start);
    auto it = d.items.find(path.substr(start, slash == std::string::npos ? slash : slash - start));
    if (it == d.items.end())
      return false;
    if (slash != std::string::npos) {
      if (it->second.entry.mode != GIT_FILEMODE_TREE ||
          !remove(opened(it->second), path, slash + 1))
        return false;
      if (!it->second.sub->items.empty()) {
        d.dirty = true;
        return true;
      }
    }
    d.items.erase(it);
    d.dirty = true;
    return true;
  }

  caf::error insert(draft& d, const std::string& path, std::size_t start, const path_entry& e) {
    auto slash = path.find('/', start);
    auto name = path.substr(start, slash == std::string::npos ? slash : slash - start);
    auto it = d.items.find(name);
    d.dirty = true;
    if (slash == std::string::npos) {
      if (it != d.items.end() && type_of(it->second.entry.mode) != type_of(e.mode))
        return make_error(ec::git_error, "moving a renamed file failed for '" + path +
                                           "': an entry of another type is in the way");
      auto& item = d.items[name];
      item.entry = folder_item{name, e.id, static_cast<std::uint32_t>(e.mode), e.mode};
      item.sub.reset();
      return caf::none;
    }
    if (it == d.items.end()) {
      draft::item fresh{folder_item{name, {}, static_cast<std::uint32_t>(GIT_FILEMODE_TREE),
                                    GIT_FILEMODE_TREE},
                        std::make_unique<draft>()};
      it = d.items.emplace(name, std::move(fresh)).first;
    } else if (it->second.entry.mode != GIT_FILEMODE_TREE) {
      return make_error(ec::git_error, "moving a renamed file failed for '" + path +
                                         "': a file is where a folder of it would be");
    }
    return insert(opened(it->second), path, slash + 1, e);
  }

  /// Holds every edited folder below and at `d` in the store; gives the id of `d`.
  git_oid finish(draft& d) {
    std::vector<folder_item> items;
    items.reserve(d.items.size());
    for (auto& [name, it] : d.items) {
      if (it.sub != nullptr && it.sub->dirty)
        it.entry.id = finish(*it.sub);
      items.push_back(std::move(it.entry));
    }
    return store_.hold(std::move(items));
  }

  tree_store& store_;
};

/// A folder at `to` (where a side renamed a file to, so that side removed the folder) whose
/// files the merge deletes anyway (the other side left each as in the base, or deleted it) is
/// no obstacle: those files leave the base and the other side before the renamed file comes.
void clear_doomed(reader& rd, const folder& base, const folder& other, const std::string& to,
                  tree_edits& base_edits, tree_edits& other_edits,
                  std::vector<std::string>* ours_moved) {
  if (!rd.lookup(base, to).tree() && !rd.lookup(other, to).tree())
    return;
  std::set<std::string> files;
  rd.files_below(base, to, files);
  rd.files_below(other, to, files);
  for (const auto& f : files) {
    auto x = rd.lookup(other, f);
    if (x.present && !same_entry(x, rd.lookup(base, f)))
      return; // The other side changed or added it: it stays, and so does the folder.
  }
  for (const auto& f : files) {
    if (rd.lookup(base, f).present)
      base_edits.remove.insert(f);
    if (rd.lookup(other, f).present) {
      other_edits.remove.insert(f);
      if (ours_moved != nullptr)
        ours_moved->push_back(f);
    }
  }
}

} // namespace

caf::expected<aligned_trees> align_renames(tree_store& store, const git_tree* base_tree,
                                           const git_tree* ours_tree,
                                           const git_tree* theirs_tree) {
  aligned_trees out;
  auto by_ours = find_renames(store, base_tree, ours_tree, theirs_tree);
  if (!by_ours)
    return std::move(by_ours.error());
  auto by_theirs = find_renames(store, base_tree, theirs_tree, ours_tree);
  if (!by_theirs)
    return std::move(by_theirs.error());
  if (by_ours->empty() && by_theirs->empty())
    return out;
  folder base{base_tree}, ours{ours_tree}, theirs{theirs_tree};
  reader rd{store};
  // Both lists are sorted by old path, each old path once: walked side by side.
  const auto &to_ours = *by_ours, &to_theirs = *by_theirs;
  tree_edits base_edits, ours_edits, theirs_edits;
  struct pending {
    std::string from, to;
    path_entry base_entry, other_entry;
    tree_edits* other_edits;
    folder other;
    bool other_is_ours;
  };
  std::vector<pending> moves;
  auto one_side = [&](const std::string& from, const std::string& to, const folder& side,
                      const folder& other, tree_edits& other_edits, bool other_is_ours) {
    auto b = rd.lookup(base, from);
    auto xp = rd.lookup(other, from);
    // The other side kept the file as it was: deleting it here and adding the new one merges
    // the same as the rename, and needs no move.
    if (same_entry(b, xp))
      return;
    auto sq = rd.lookup(side, to);
    auto xq = rd.lookup(other, to);
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
      if (same_entry(sq, b) && same_entry(xp, xq) && rd.blocker(base_edits, base, to).empty()) {
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
      if (!xq.file() || !rd.blocker(base_edits, base, to).empty())
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
    if (t == to_theirs.end() || (o != to_ours.end() && o->from < t->from)) {
      one_side(o->from, o->to, ours, theirs, theirs_edits, false);
      ++o;
    } else if (o == to_ours.end() || t->from < o->from) {
      one_side(t->from, t->to, theirs, ours, ours_edits, true);
      ++t;
    } else {
      if (o->to == t->to) {
        base_edits.move(o->from, o->to, rd.lookup(base, o->from));
      } else {
        // rename/rename(1to2): git lists the old path and both new ones; the old path only as
        // long as no folder takes its place.
        if (!rd.lookup(ours, o->from).tree() && !rd.lookup(theirs, o->from).tree())
          out.conflicts.push_back(o->from);
        out.conflicts.push_back(o->to);
        out.conflicts.push_back(t->to);
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
    clear_doomed(rd, base, m.other, m.to, base_edits, *m.other_edits,
                 m.other_is_ours ? &out.ours_moved : nullptr);
    auto in_other = rd.blocker(*m.other_edits, m.other, m.to);
    auto in_base = rd.blocker(base_edits, base, m.to);
    if (in_other == m.to || in_base == m.to) {
      out.conflicts.push_back(m.to); // A folder at the new path: git's file/folder conflict.
      continue;
    }
    // A file where the new path needs a folder: the renaming side replaced it by that folder.
    // It leaves the base and the other side so the folder can hold the renamed file; when the
    // other side had changed it, git reports the file/folder conflict at that file.
    if (!in_other.empty()) {
      if (!(in_other == in_base && same_entry(rd.lookup(m.other, in_other), rd.lookup(base, in_base))))
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
  auto nb = rd.apply(base, base_edits);
  if (!nb)
    return std::move(nb.error());
  auto no = rd.apply(ours, ours_edits);
  if (!no)
    return std::move(no.error());
  auto nt = rd.apply(theirs, theirs_edits);
  if (!nt)
    return std::move(nt.error());
  if (rd.failed)
    return rd.failed;
  out.base = *nb;
  out.ours = *no;
  out.theirs = *nt;
  return out;
}

} // namespace sf::io
