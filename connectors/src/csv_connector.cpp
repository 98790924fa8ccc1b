// type: csv — an HR export in RFC 4180 CSV. Also reads the id_parent OU file.
#include <algorithm>

#include "connector.h"
#include "idsync/connectors/parsers.h"

namespace idsync::connectors {
namespace {

std::string Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// Reads a CSV file with a header; calls row(fields, line) for each good row
// and bad(line, reason) for malformed ones. Returns an error for a file that
// cannot be used at all.
std::optional<ReadError> ReadCsv(
    const std::string& path, const SourceOptions& o, bool header,
    std::vector<std::string>* columns,
    const std::function<void(const std::vector<std::string_view>&, int64_t)>& row,
    const std::function<void(int64_t, std::string)>& bad) {
  std::string data, err;
  if (!MapFile(path, &data, &err)) return ReadError{err};
  CsvOptions co;
  co.delimiter = o.csv_delimiter;
  co.quote = o.csv_quote;
  co.max_field_bytes = o.max_field_bytes;
  CsvParser parser(co);
  bool need_header = header;
  std::optional<ReadError> fatal;
  parser.Parse(data, [&](const CsvRecord& rec) {
    if (need_header) {
      if (!rec.error.empty()) {
        fatal = ReadError{path + ":" + std::to_string(rec.line) + ": malformed header: " + rec.error};
        return false;
      }
      columns->clear();
      for (auto f : rec.fields) columns->push_back(Trimmed(f));
      for (size_t i = 0; i < columns->size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
          if ((*columns)[i] == (*columns)[j] && !(*columns)[i].empty()) {
            fatal = ReadError{path + ":" + std::to_string(rec.line) + ": duplicate column '" +
                              (*columns)[i] + "' in the header"};
            return false;
          }
        }
      }
      need_header = false;
      return true;
    }
    if (!rec.error.empty()) {
      bad(rec.line, rec.error);
      return true;
    }
    if (rec.fields.size() != columns->size()) {
      bad(rec.line, "record has " + std::to_string(rec.fields.size()) + " fields, the header has " +
                        std::to_string(columns->size()));
      return true;
    }
    row(rec.fields, rec.line);
    return true;
  });
  if (fatal) return fatal;
  if (need_header) return ReadError{path + ": empty file (no header line)"};
  return std::nullopt;
}

int ColumnIndex(const std::vector<std::string>& columns, const std::string& name) {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return static_cast<int>(i);
  }
  return -1;
}

class CsvConnector : public Connector {
 public:
  std::vector<std::string> OuModes() const override { return {"path", "id_parent"}; }
  std::vector<std::string> GroupModes() const override { return {"column"}; }

  void Configure(config::MapReader& r, SourceOptions* o, config::Diagnostics*) override {
    opts_ = o;
    path_ = ReadPath(r, "path", true, *o, true, /*data_file=*/true);
    config::Diagnostics ignored;  // problems with these keys are reported by Prepare
    config::MapReader c(r.Raw("csv"), "source.csv", o->config_file, &ignored);
    header_ = c.Bool("header", true);
    columns_ = c.StringList("columns");
    if (!header_ && columns_.empty()) {
      r.Problem("csv", "csv.columns is required when csv.header is false");
    }
    if (c.Has("header") && c.Has("columns") && header_) {
      r.Problem("csv", "csv.columns is only used when csv.header is false");
    }
    // Wrong types in csv.header / csv.columns are reported here.
    for (const auto& p : ignored.problems()) {
      if (p.key_path == "source.csv.header" || p.key_path == "source.csv.columns") {
        r.Problem("csv", p.message + " (" + p.key_path + ")");
      }
    }
  }

  std::optional<ReadError> Read(SnapshotBuilder* b) override {
    std::vector<std::string> columns = columns_;
    const AttrTable& attrs = b->mapping().attrs();
    std::vector<int> col_of_slot;
    bool bound = false;
    std::optional<ReadError> bind_error;
    auto bind = [&] {
      bound = true;
      col_of_slot.assign(attrs.size(), -1);
      for (size_t s = 0; s < attrs.size(); ++s) {
        const std::string& name = attrs.name(static_cast<int>(s));
        int c = ColumnIndex(columns, name);
        if (c < 0 && !name.empty() && name[0] != '$' && !bind_error) {
          bind_error = ReadError{path_ + ": column '" + name +
                                 "' used by the configuration is not in the header (wrong "
                                 "delimiter or file?)"};
        }
        col_of_slot[s] = c;
      }
    };
    auto err = ReadCsv(
        path_, *opts_, header_, &columns,
        [&](const std::vector<std::string_view>& fields, int64_t line) {
          if (!bound) bind();
          if (bind_error) return;
          CsvRowView row(&col_of_slot, &fields);
          b->AddUser(row, sync::Origin{path_, line});
        },
        [&](int64_t line, std::string reason) {
          b->CountRead();
          b->Reject(sync::Origin{path_, line}, "", "", std::move(reason));
        });
    if (err) return err;
    if (!bound) bind();
    if (bind_error) return bind_error;
    return std::nullopt;
  }

  std::string LocalFile() const override { return path_; }

  std::string Describe() const override { return "csv:" + path_; }

 private:
  SourceOptions* opts_ = nullptr;
  std::string path_;
  bool header_ = true;
  std::vector<std::string> columns_;
};

}  // namespace

std::unique_ptr<Connector> MakeCsvConnector() { return std::make_unique<CsvConnector>(); }

std::optional<ReadError> LoadIdParentOus(const SourceOptions& o, SnapshotBuilder* b) {
  std::vector<std::string> columns;
  int id = -1, parent = -1, name = -1, desc = -1;
  bool checked = false;
  std::optional<ReadError> fatal;
  auto err = ReadCsv(
      o.ou_file, o, true, &columns,
      [&](const std::vector<std::string_view>& f, int64_t line) {
        if (!checked) {
          checked = true;
          id = ColumnIndex(columns, o.ou_id);
          parent = ColumnIndex(columns, o.ou_parent);
          name = ColumnIndex(columns, o.ou_name);
          desc = o.ou_description.empty() ? -1 : ColumnIndex(columns, o.ou_description);
          for (auto [col, key] : {std::pair{id, o.ou_id}, {parent, o.ou_parent}, {name, o.ou_name}}) {
            if (col < 0) {
              fatal = ReadError{o.ou_file + ": column '" + key + "' is not in the header"};
            }
          }
          if (!o.ou_description.empty() && desc < 0) {
            fatal = ReadError{o.ou_file + ": column '" + o.ou_description + "' is not in the header"};
          }
        }
        if (fatal) return;
        sync::DesiredOu ou;
        ou.origin = sync::Origin{o.ou_file, line};
        ou.key = Trimmed(f[static_cast<size_t>(id)]);
        ou.parent_key = Trimmed(f[static_cast<size_t>(parent)]);
        ou.name = Trimmed(f[static_cast<size_t>(name)]);
        if (desc >= 0) ou.description = Trimmed(f[static_cast<size_t>(desc)]);
        if (ou.key.empty()) {
          b->Reject(ou.origin, "", "ou", "missing department id");
          return;
        }
        if (ou.name.empty()) {
          b->Reject(ou.origin, ou.key, "ou", "missing department name");
          return;
        }
        if (ou.parent_key == ou.key) {
          b->Reject(ou.origin, ou.key, "ou", "department is its own parent");
          return;
        }
        b->AddOu(std::move(ou));
      },
      [&](int64_t line, std::string reason) {
        b->Reject(sync::Origin{o.ou_file, line}, "", "ou", std::move(reason));
      });
  if (err) return err;
  return fatal;
}

}  // namespace idsync::connectors
