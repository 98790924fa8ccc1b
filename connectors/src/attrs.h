// Attribute names interned into slots, and the read-only view of one source
// record that expressions evaluate against.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace idsync::connectors {

// Attribute name -> slot. Expressions intern the names they reference when
// they compile; connectors then look up their columns/attributes. Lookups
// may ignore ASCII case (LDIF attribute names are case-insensitive).
class AttrTable {
 public:
  int Intern(std::string_view name);
  int Find(std::string_view name) const;        // -1 if absent
  int FindIgnoreCase(std::string_view name) const;
  size_t size() const { return names_.size(); }
  const std::string& name(int slot) const { return names_[static_cast<size_t>(slot)]; }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, int> index_;
};

// The values of one record by slot. A missing attribute has 0 values.
class AttrView {
 public:
  virtual ~AttrView() = default;
  virtual size_t Count(int slot) const = 0;
  // REQUIRES: i < Count(slot).
  virtual std::string_view Value(int slot, size_t i) const = 0;
};

// An AttrView that owns its values (LDIF entries, JSON records).
class OwnedRecord : public AttrView {
 public:
  explicit OwnedRecord(size_t slots = 0) : values_(slots) {}
  void Resize(size_t slots) {
    if (values_.size() < slots) values_.resize(slots);
  }
  void Add(int slot, std::string value) {
    Resize(static_cast<size_t>(slot) + 1);
    values_[static_cast<size_t>(slot)].push_back(std::move(value));
  }
  void Clear() {
    for (auto& v : values_) v.clear();
  }
  size_t Count(int slot) const override {
    return static_cast<size_t>(slot) < values_.size()
               ? values_[static_cast<size_t>(slot)].size()
               : 0;
  }
  std::string_view Value(int slot, size_t i) const override {
    return values_[static_cast<size_t>(slot)][i];
  }

 private:
  std::vector<std::vector<std::string>> values_;
};

// A view over one CSV record: slot -> column.
class CsvRowView : public AttrView {
 public:
  CsvRowView(const std::vector<int>* column_of_slot,
             const std::vector<std::string_view>* fields)
      : cols_(column_of_slot), fields_(fields) {}
  size_t Count(int slot) const override {
    if (static_cast<size_t>(slot) >= cols_->size()) return 0;
    int c = (*cols_)[static_cast<size_t>(slot)];
    return c >= 0 && static_cast<size_t>(c) < fields_->size() ? 1 : 0;
  }
  std::string_view Value(int slot, size_t) const override {
    return (*fields_)[static_cast<size_t>((*cols_)[static_cast<size_t>(slot)])];
  }

 private:
  const std::vector<int>* cols_;
  const std::vector<std::string_view>* fields_;
};

}  // namespace idsync::connectors
