#include "io/git/tree_merge.hpp"

#include "core/sf_paths.hpp"
#include "io/git/git.hpp"
#include "io/git/rename_align.hpp"
#include "io/git/state_merge.hpp"
#include "io/git/tree_merge_store.hpp"
#include "messages/error.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>

namespace sf::io {

namespace {

using entry = folder_entry;

class merger {
public:
  merger(tree_store& store, const tree_merge_rules& rules)
      : store_(store), repo_(store.repo()), rules_(rules) {}

  std::vector<std::string> conflicts;
  std::vector<std::string> changed;

  /// Merges one folder level; gives the resulting tree entry, absent when it ends up empty.
  caf::expected<entry> merge_dir(const std::string& prefix, const folder& b, const folder& o,
                                 const folder& t) {
    std::vector<std::pair<std::string, entry>> changes;
    for (const auto& j : join_names(b, o, t)) {
      // Ours stands where theirs kept the base or agrees (merge_entry's first rule): most names
      // of a folder, skipped before their path is even built.
      if (same_entry(j.at[1], j.at[2]) || same_entry(j.at[0], j.at[2]))
        continue;
      std::string name{j.name};
      auto r = merge_entry(prefix + name, j.at[0], j.at[1], j.at[2]);
      if (!r)
        return std::move(r.error());
      if (!same_entry(*r, j.at[1]))
        changes.emplace_back(std::move(name), *r);
    }
    entry out;
    if (changes.empty() && o.exists()) {
      out.present = true;
      git_oid_cpy(&out.id, &o.id());
      out.mode = GIT_FILEMODE_TREE;
      return out;
    }
    // Entries kept from ours keep their recorded mode, as a tree builder started from ours would.
    std::map<std::string, folder_item> items;
    for (std::size_t i = 0, n = o.size(); i < n; ++i) {
      auto item = o.item(i);
      items.emplace(item.name, std::move(item));
    }
    for (auto& [name, r] : changes) {
      if (!r.present) {
        items.erase(name);
        continue;
      }
      auto& item = items[name];
      item.name = name;
      git_oid_cpy(&item.id, &r.id);
      item.attr = static_cast<std::uint32_t>(r.mode);
      item.mode = r.mode;
    }
    // Git keeps no empty folders: a folder both sides emptied disappears.
    if (items.empty())
      return out;
    std::vector<folder_item> list;
    list.reserve(items.size());
    for (auto& [name, item] : items)
      list.push_back(std::move(item));
    auto id = store_.write(std::move(list));
    if (!id)
      return std::move(id.error());
    out.present = true;
    out.id = *id;
    out.mode = GIT_FILEMODE_TREE;
    return out;
  }

private:
  caf::expected<std::string> load_blob(const entry& e) {
    if (!e.present || !e.regular())
      return std::string{};
    git_blob* raw = nullptr;
    if (git_blob_lookup(&raw, repo_, &e.id) != 0)
      return git_fail("reading a blob", git_oid_tostr_s(&e.id));
    blob_ptr blob{raw};
    auto size = static_cast<size_t>(git_blob_rawsize(blob.get()));
    return std::string{static_cast<const char*>(git_blob_rawcontent(blob.get())), size};
  }

  /// Lists, as file paths, everything that differs between `from` and `to` at `path`.
  caf::error record(const std::string& path, const entry& from, const entry& to) {
    if (same_entry(from, to))
      return caf::none;
    bool ft = from.tree();
    bool tt = to.tree();
    if ((from.present && !ft) || (to.present && !tt))
      changed.push_back(path);
    if (!ft && !tt)
      return caf::none;
    auto from_tree = store_.open(from);
    if (!from_tree)
      return std::move(from_tree.error());
    auto to_tree = store_.open(to);
    if (!to_tree)
      return std::move(to_tree.error());
    for (const auto& j : join_names(*from_tree, *to_tree, folder{}))
      if (!same_entry(j.at[0], j.at[1]))
        if (auto err = record(path + "/" + std::string{j.name}, j.at[0], j.at[1]))
          return err;
    return caf::none;
  }

  /// Result `r` replaces ours at `path`: note the changed files and pass `r` on.
  caf::expected<entry> take(const std::string& path, const entry& o, const entry& r) {
    if (auto err = record(path, o, r))
      return err;
    return r;
  }

  entry conflict(const std::string& path, const entry& o) {
    conflicts.push_back(path);
    return o;
  }

  caf::expected<entry> merge_entry(const std::string& path, const entry& b, const entry& o,
                                   const entry& t) {
    if (same_entry(o, t) || same_entry(b, t))
      return o;
    bool state = rules_.resolve_state && is_state_path(path);
    // Taking theirs wholesale would let a branch that merged main in erase records of other
    // milestones from metrics.json: descend to that file whenever main still has it.
    bool guards_metrics = state && o.present && t.present &&
                          (path == core::tree_path::sf || path == core::tree_path::metrics);
    if (same_entry(b, o) && !guards_metrics)
      return take(path, o, t);
    bool ot = o.tree();
    bool tt = t.tree();
    // Folders on both sides, or a folder against nothing: descend so that only the files both
    // sides touched can conflict, as git does.
    if ((ot && tt) || (ot && !t.present) || (tt && !o.present))
      return merge_subtrees(path, b, o, t);
    if ((ot && t.present) || (tt && o.present)) {
      // A folder against a file, both changed: git moves the file aside and merges the
      // folder's files as if the file's side had deleted them, so a file in it that the file's
      // side never saw changed is kept, and one it did is a conflict of its own.
      auto before = conflicts.size();
      auto inner = merge_subtrees(path, b, o, t); // A file counts as no folder.
      if (!inner)
        return std::move(inner.error());
      // Nothing of the folder is left: the file stands alone, as the merge of its side.
      if (!inner->present && conflicts.size() == before)
        return ot ? take(path, o, t) : o;
      return conflict(path, o);
    }
    if (!o.present || !t.present) {
      // A file changed on one side and deleted on the other. Under .sf/ a branch's change to a
      // file main deleted is kept (nothing is lost by that); main's change to a file the branch
      // deleted must not vanish, so that is a conflict like in code.
      if (state && !o.present && t.regular())
        return take(path, o, t);
      // A folder one side deleted and the other replaced by a file: every file of the base is
      // gone on both sides, and the new file is an add only one side made.
      if (b.tree())
        return o.present ? o : take(path, o, t);
      return conflict(path, o);
    }
    return merge_files(path, state, b, o, t);
  }

  /// The folders at `path` merged (a side that is not a folder there counts as an empty one).
  caf::expected<entry> merge_subtrees(const std::string& path, const entry& b, const entry& o,
                                      const entry& t) {
    auto bt = store_.open(b);
    if (!bt)
      return std::move(bt.error());
    auto otree = store_.open(o);
    if (!otree)
      return std::move(otree.error());
    auto ttree = store_.open(t);
    if (!ttree)
      return std::move(ttree.error());
    return merge_dir(path + "/", *bt, *otree, *ttree);
  }

  caf::expected<entry> merge_files(const std::string& path, bool state, const entry& b,
                                   const entry& o, const entry& t) {
    bool have_base = b.present && !b.tree();
    entry r = o;
    // The mode and the content merge independently, like git.
    if (o.mode != t.mode) {
      if (have_base && b.mode == o.mode)
        r.mode = t.mode;
      else if (!(have_base && b.mode == t.mode)) {
        if (!state)
          return conflict(path, o);
        r.mode = t.mode;
      }
    }
    bool same_content = git_oid_equal(&o.id, &t.id) != 0;
    if (same_content)
      return take(path, o, r);
    // A branch that merged main in and then resolved metrics.json by its own side would, as a
    // plain fast-forward of the file, erase records of milestones already on main: metrics
    // always go through the per-milestone merge, which never drops an entry main has.
    bool metrics = state && path == core::tree_path::metrics;
    if (have_base && git_oid_equal(&b.id, &o.id) != 0 && !metrics) {
      git_oid_cpy(&r.id, &t.id);
      return take(path, o, r);
    }
    if (have_base && git_oid_equal(&b.id, &t.id) != 0)
      return take(path, o, r);
    if (!o.regular() || !t.regular() || (have_base && !b.regular())) {
      // Symbolic links and submodules have no line-level merge.
      return conflict(path, o);
    }
    auto base_text = load_blob(have_base ? b : entry{});
    if (!base_text)
      return std::move(base_text.error());
    auto ours_text = load_blob(o);
    if (!ours_text)
      return std::move(ours_text.error());
    auto theirs_text = load_blob(t);
    if (!theirs_text)
      return std::move(theirs_text.error());
    std::string merged;
    if (state) {
      auto text = merge_state_text(path, *base_text, *ours_text, *theirs_text);
      if (!text)
        return std::move(text.error());
      if (!*text)
        return conflict(path, o);
      merged = std::move(**text);
    } else {
      auto text = merge_file_text(*base_text, *ours_text, *theirs_text, path, false,
                                  static_cast<unsigned int>(r.mode));
      if (!text)
        return std::move(text.error());
      if (!text->first)
        return conflict(path, o);
      merged = std::move(text->second);
    }
    if (git_blob_create_from_buffer(&r.id, repo_, merged.data(), merged.size()) != 0)
      return git_fail("writing the merged blob", "'" + path + "'");
    return take(path, o, r);
  }

  /// A file under `.sf/` both sides changed, by the rules of io/git/state_merge.hpp; nothing when
  /// it is a conflict.
  caf::expected<std::optional<std::string>>
  merge_state_text(const std::string& path, const std::string& base, const std::string& ours,
                   const std::string& theirs) {
    if (path == core::tree_path::metrics) {
      auto j = merge_metrics_json(base, ours, theirs);
      if (!j)
        return std::optional<std::string>{}; // Not JSON on a side: the user must look at it.
      return std::optional<std::string>{std::move(*j)};
    }
    if (is_milestone_file(path))
      return merge_milestone_text(base, ours, theirs, path);
    return merge_lines_keeping_both(base, ours, theirs, path);
  }

  tree_store& store_;
  git_repository* repo_;
  tree_merge_rules rules_;
};

/// The paths of `a` and `b`, sorted, each once. The merge lists paths almost in order already
/// (a folder's names in order, depth first): sorting thousands of long paths with shared
/// prefixes costs more than the check.
std::vector<std::string> sorted_union(std::vector<std::string> a, std::vector<std::string> b) {
  auto in_order = [](std::vector<std::string>& v) {
    if (!std::is_sorted(v.begin(), v.end()))
      std::sort(v.begin(), v.end());
  };
  in_order(a);
  in_order(b);
  auto middle = static_cast<std::ptrdiff_t>(a.size());
  a.insert(a.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
  std::inplace_merge(a.begin(), a.begin() + middle, a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  return a;
}

} // namespace

bool is_state_path(const std::string& path) {
  return path == ".sf" || path.compare(0, 4, ".sf/") == 0;
}

caf::expected<tree_merge_result> tree_merge(git_repository* repo, const git_tree* base,
                                            const git_tree* ours, const git_tree* theirs,
                                            const tree_merge_rules& rules) {
  // The trees rename alignment rewrites stay in the store's memory: only what the merged tree
  // holds is written (each written object costs an fsync).
  tree_store store{repo};
  folder b{base}, o{ours}, t{theirs};
  aligned_trees aligned;
  if (rules.detect_renames) {
    auto a = align_renames(store, base, ours, theirs);
    if (!a)
      return std::move(a.error());
    aligned = std::move(*a);
    if (aligned.renamed) {
      b = aligned.base;
      o = aligned.ours;
      t = aligned.theirs;
    }
  }
  merger m{store, rules};
  auto top = m.merge_dir("", b, o, t);
  if (!top)
    return std::move(top.error());
  tree_merge_result res;
  if (top->present) {
    // An untouched rewritten ours is the result: it exists only in memory so far.
    if (auto err = store.write_held(top->id))
      return err;
    git_oid_cpy(&res.tree, &top->id);
  } else {
    // Everything was deleted: the result is the empty tree, which must exist as an object.
    auto empty = store.write({});
    if (!empty)
      return std::move(empty.error());
    res.tree = *empty;
  }
  // The merge ran on ours with renames followed: what moved differs from the real ours too.
  res.conflicts = sorted_union(std::move(m.conflicts), aligned.conflicts);
  res.changed_paths = sorted_union(std::move(m.changed), aligned.ours_moved);
  return res;
}

} // namespace sf::io
