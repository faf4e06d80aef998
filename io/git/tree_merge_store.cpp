// Held folders are serialized byte for byte as libgit2's tree builder writes a tree (entries in
// git's order, modes in octal as recorded), so a held folder's id is the id it gets once written
// and the merge compares held and database folders by id alone.
#include "io/git/tree_merge_store.hpp"

#include <algorithm>
#include <cstdio>

namespace sf::io {

namespace {

bool is_tree_attr(std::uint32_t attr) {
  return (attr & 0170000) == 0040000;
}

/// git's tree order: names compared bytewise, a folder's name as if it ended in '/'.
bool git_order(const folder_item* a, const folder_item* b) {
  std::size_t n = std::min(a->name.size(), b->name.size());
  int c = std::memcmp(a->name.data(), b->name.data(), n);
  if (c != 0)
    return c < 0;
  auto next = [n](const folder_item* x) -> unsigned char {
    if (x->name.size() > n)
      return static_cast<unsigned char>(x->name[n]);
    return is_tree_attr(x->attr) ? '/' : '\0';
  };
  return next(a) < next(b);
}

std::string serialize(const std::vector<folder_item>& items) {
  std::vector<const folder_item*> order;
  order.reserve(items.size());
  for (const auto& it : items)
    order.push_back(&it);
  std::sort(order.begin(), order.end(), git_order);
  std::string data;
  data.reserve(items.size() * 72);
  for (const auto* it : order) {
    char mode[16];
    int n = std::snprintf(mode, sizeof mode, "%o ", static_cast<unsigned>(it->attr));
    data.append(mode, static_cast<std::size_t>(n));
    data.append(it->name);
    data.push_back('\0');
    data.append(reinterpret_cast<const char*>(it->id.id), GIT_OID_RAWSZ);
  }
  return data;
}

bool by_name(const folder_item& a, const std::string& name) {
  return a.name < name;
}

} // namespace

bool same_entry(const folder_entry& a, const folder_entry& b) {
  return a.present == b.present &&
         (!a.present || (a.mode == b.mode && git_oid_equal(&a.id, &b.id) != 0));
}

folder::folder(const git_tree* tree) : tree_(tree) {
  if (tree != nullptr)
    git_oid_cpy(&id_, git_tree_id(tree));
}

folder::folder(const git_oid& id, const held_folder* held) : held_(held) {
  git_oid_cpy(&id_, &id);
}

std::size_t folder::size() const {
  if (tree_ != nullptr)
    return git_tree_entrycount(tree_);
  return held_ != nullptr ? held_->items.size() : 0;
}

const char* folder::name(std::size_t i) const {
  if (tree_ != nullptr)
    return git_tree_entry_name(git_tree_entry_byindex(tree_, i));
  return held_->items[i].name.c_str();
}

folder_item folder::item(std::size_t i) const {
  if (held_ != nullptr)
    return held_->items[i];
  const git_tree_entry* e = git_tree_entry_byindex(tree_, i);
  folder_item out;
  out.name = git_tree_entry_name(e);
  git_oid_cpy(&out.id, git_tree_entry_id(e));
  out.attr = static_cast<std::uint32_t>(git_tree_entry_filemode_raw(e));
  out.mode = git_tree_entry_filemode(e);
  return out;
}

std::string_view folder::name_view(std::size_t i) const {
  if (tree_ != nullptr)
    return git_tree_entry_name(git_tree_entry_byindex(tree_, i));
  return held_->items[i].name;
}

folder_entry folder::entry(std::size_t i) const {
  folder_entry out;
  out.present = true;
  if (tree_ != nullptr) {
    const git_tree_entry* e = git_tree_entry_byindex(tree_, i);
    git_oid_cpy(&out.id, git_tree_entry_id(e));
    out.mode = git_tree_entry_filemode(e);
    return out;
  }
  const auto& it = held_->items[i];
  git_oid_cpy(&out.id, &it.id);
  out.mode = it.mode;
  return out;
}

folder_entry folder::find(const std::string& name) const {
  folder_entry out;
  if (tree_ != nullptr) {
    const git_tree_entry* e = git_tree_entry_byname(tree_, name.c_str());
    if (e == nullptr)
      return out;
    out.present = true;
    git_oid_cpy(&out.id, git_tree_entry_id(e));
    out.mode = git_tree_entry_filemode(e);
    return out;
  }
  if (held_ == nullptr)
    return out;
  auto it = std::lower_bound(held_->items.begin(), held_->items.end(), name, by_name);
  if (it == held_->items.end() || it->name != name)
    return out;
  out.present = true;
  git_oid_cpy(&out.id, &it->id);
  out.mode = it->mode;
  return out;
}

std::vector<joined_name> join_names(const folder& a, const folder& b, const folder& c) {
  // A tree lists its entries in git's order, which is name order except where a folder's name
  // is a prefix of another name: each folder's entries are put in name order first (a check,
  // almost always), then the three lists are merged.
  struct side {
    std::vector<std::pair<std::string_view, std::size_t>> names;
    std::size_t next = 0;
  };
  const folder* folders[3] = {&a, &b, &c};
  side sides[3];
  std::size_t total = 0;
  for (int k = 0; k < 3; ++k) {
    auto& names = sides[k].names;
    names.reserve(folders[k]->size());
    for (std::size_t i = 0, n = folders[k]->size(); i < n; ++i)
      names.emplace_back(folders[k]->name_view(i), i);
    if (!std::is_sorted(names.begin(), names.end()))
      std::sort(names.begin(), names.end());
    total = std::max(total, names.size());
  }
  std::vector<joined_name> out;
  out.reserve(total);
  while (true) {
    const std::string_view* least = nullptr;
    for (auto& s : sides)
      if (s.next < s.names.size() && (least == nullptr || s.names[s.next].first < *least))
        least = &s.names[s.next].first;
    if (least == nullptr)
      return out;
    joined_name j;
    j.name = *least;
    for (int k = 0; k < 3; ++k) {
      auto& s = sides[k];
      if (s.next < s.names.size() && s.names[s.next].first == j.name)
        j.at[k] = folders[k]->entry(s.names[s.next++].second);
    }
    out.push_back(j);
  }
}

caf::expected<const git_tree*> tree_store::read(const git_oid& id) {
  auto it = read_.find(id);
  if (it != read_.end())
    return it->second.get();
  git_tree* raw = nullptr;
  // libgit2's own cache keeps no tree over 4 KiB: without this one, a folder of a hundred files
  // would be inflated, hashed and parsed again for every path looked up in it.
  if (git_tree_lookup(&raw, repo_, &id) != 0)
    return git_fail("reading a tree", git_oid_tostr_s(&id));
  return read_.emplace(id, tree_ptr{raw}).first->second.get();
}

caf::expected<folder> tree_store::open(const git_oid& id) {
  auto h = held_.find(id);
  if (h != held_.end())
    return folder{h->first, &h->second};
  auto t = read(id);
  if (!t)
    return std::move(t.error());
  return folder{*t};
}

caf::expected<folder> tree_store::open(const folder_entry& e) {
  if (!e.tree())
    return folder{};
  return open(e.id);
}

caf::expected<folder_entry> tree_store::find_path(const folder& root, const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return root.find(path);
  // Alignment looks up many files of the same few folders: each folder is found once per root.
  std::string key(reinterpret_cast<const char*>(root.id().id), GIT_OID_RAWSZ);
  key.append(path, 0, slash);
  auto it = dirs_.find(key);
  if (it == dirs_.end()) {
    auto dir = find_path(root, path.substr(0, slash));
    if (!dir)
      return std::move(dir.error());
    auto f = open(*dir);
    if (!f)
      return std::move(f.error());
    it = dirs_.emplace(std::move(key), *f).first;
  }
  return it->second.find(path.substr(slash + 1));
}

git_oid tree_store::hold(std::vector<folder_item> items) {
  held_folder h;
  h.data = serialize(items);
  h.items = std::move(items);
  git_oid id;
  git_odb_hash(&id, h.data.data(), h.data.size(), GIT_OBJECT_TREE);
  held_.emplace(id, std::move(h));
  return id;
}

caf::error tree_store::write_held(const git_oid& id) {
  auto it = held_.find(id);
  if (it == held_.end() || it->second.written)
    return caf::none;
  auto written = write_object(it->second.items, it->second.data);
  if (!written)
    return std::move(written.error());
  it->second.written = true;
  return caf::none;
}

caf::expected<git_oid> tree_store::write(std::vector<folder_item> items) {
  return write_object(items, serialize(items));
}

caf::expected<git_oid> tree_store::write_object(const std::vector<folder_item>& items,
                                                const std::string& data) {
  // A tree must never name a folder the database lacks: held ones go first.
  for (const auto& item : items)
    if (is_tree_attr(item.attr))
      if (auto err = write_held(item.id))
        return err;
  auto db = odb();
  if (!db)
    return std::move(db.error());
  git_oid id;
  if (git_odb_write(&id, *db, data.data(), data.size(), GIT_OBJECT_TREE) != 0)
    return git_fail("writing a tree", git_repository_path(repo_));
  return id;
}

caf::expected<git_odb*> tree_store::odb() {
  if (odb_ == nullptr) {
    git_odb* raw = nullptr;
    if (git_repository_odb(&raw, repo_) != 0)
      return git_fail("opening the object database", git_repository_path(repo_));
    odb_.reset(raw);
  }
  return odb_.get();
}

} // namespace sf::io
