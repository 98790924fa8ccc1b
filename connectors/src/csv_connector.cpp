// type: csv — an HR export in RFC 4180 CSV. Also reads the id_parent OU file.
#include <algorithm>
#include <thread>

#include "connector.h"
#include "idsync/connectors/parsers.h"
#include "ordered_mapper.h"

namespace idsync::connectors {
namespace {

std::string Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// A UTF-16 or UTF-32 export (Excel's "Unicode text", PowerShell's default)
// is not a CSV the parser can read, and its header would only ever look
// like a wrong delimiter: said as what it is. Text files hold no NUL byte.
std::optional<std::string> WrongEncoding(std::string_view data) {
  auto starts = [&](std::string_view bom) { return data.substr(0, bom.size()) == bom; };
  if (starts(std::string_view("\x00\x00\xfe\xff", 4)) ||
      starts(std::string_view("\xff\xfe\x00\x00", 4))) {
    return std::string("the file is UTF-32 (it starts with a UTF-32 byte-order mark)");
  }
  if (starts("\xff\xfe") || starts("\xfe\xff")) {
    return std::string("the file is UTF-16 (it starts with a UTF-16 byte-order mark)");
  }
  std::string_view head = data.substr(0, 4096);
  if (head.find('\0') != std::string_view::npos) {
    return std::string("the file holds NUL bytes: it is not UTF-8 text (UTF-16?)");
  }
  return std::nullopt;
}

// Reads the CSV file at `path` into *data, refusing what is not UTF-8 text.
std::optional<Error> LoadCsv(const std::string& path, std::string* data) {
  std::string err;
  if (!MapFile(path, data, &err)) return Error::Io(err);
  if (auto encoding = WrongEncoding(*data)) {
    return Error::Unusable(path + ": " + *encoding + "; export the file as UTF-8");
  }
  return std::nullopt;
}

// Parses `data`, the CSV file at `path`, with a header; calls row(fields,
// line) for each good row and bad(line, reason, raw) for malformed ones,
// where raw is the record's text when it may still yield its key
// (RecoverFields), else empty. Returns an error for a file that cannot be
// used at all.
std::optional<Error> ParseCsv(
    const std::string& path, std::string_view data, const SourceOptions& o, bool header,
    std::vector<std::string>* columns,
    const std::function<void(const std::vector<std::string_view>&, int64_t)>& row,
    const std::function<void(int64_t, std::string, std::string_view)>& bad) {
  CsvOptions co;
  co.delimiter = o.csv_delimiter;
  co.quote = o.csv_quote;
  co.max_field_bytes = o.max_field_bytes;
  CsvParser parser(co);
  bool need_header = header;
  std::optional<Error> fatal;
  parser.Parse(data, [&](const CsvRecord& rec) {
    if (need_header) {
      if (!rec.error.empty()) {
        fatal = Error::Unusable(path + ":" + std::to_string(rec.line) +
                                ": malformed header: " + rec.error);
        return false;
      }
      columns->clear();
      for (auto f : rec.fields) columns->push_back(Trimmed(f));
      for (size_t i = 0; i < columns->size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
          if ((*columns)[i] == (*columns)[j] && !(*columns)[i].empty()) {
            fatal = Error::Unusable(path + ":" + std::to_string(rec.line) + ": duplicate column '" +
                                    (*columns)[i] + "' in the header");
            return false;
          }
        }
      }
      need_header = false;
      return true;
    }
    if (!rec.error.empty()) {
      bad(rec.line, rec.error, rec.raw);
      return true;
    }
    if (rec.fields.size() != columns->size()) {
      // A record of another width may be shifted anywhere: no column of it
      // is certain, so no key is recovered.
      bad(rec.line,
          "record has " + std::to_string(rec.fields.size()) + " fields, the header has " +
              std::to_string(columns->size()),
          {});
      return true;
    }
    row(rec.fields, rec.line);
    return true;
  });
  if (fatal) return fatal;
  if (need_header) return Error::Unusable(path + ": empty file (no header line)");
  return std::nullopt;
}

std::optional<Error> ReadCsv(
    const std::string& path, const SourceOptions& o, bool header, std::vector<std::string>* columns,
    const std::function<void(const std::vector<std::string_view>&, int64_t)>& row,
    const std::function<void(int64_t, std::string, std::string_view)>& bad) {
  std::string data;
  if (auto err = LoadCsv(path, &data)) return err;
  return ParseCsv(path, data, o, header, columns, row, bad);
}

// The fields of a rejected record split again (SplitCsvLeniently), and
// which of them can be trusted: those any reading of its quoting agrees
// on, valid UTF-8 and within max_field_bytes. Nothing is trusted when the
// split does not give the header's number of fields: then even the columns
// before the damage may belong to another record (a line of a multi-line
// field), or the record may be shifted.
class RecoveredFields {
 public:
  RecoveredFields(std::string_view raw, const SourceOptions& o, size_t columns)
      : split_(SplitCsvLeniently(raw, o.csv_delimiter, o.csv_quote)), max_bytes_(o.max_field_bytes) {
    if (raw.empty() || split_.fields.size() != columns) split_.certain = 0;
    views_.assign(split_.fields.begin(), split_.fields.end());
  }
  const std::vector<std::string_view>& fields() const { return views_; }
  bool Certain(int column) const {
    if (column < 0 || static_cast<size_t>(column) >= split_.certain) return false;
    std::string_view v = views_[static_cast<size_t>(column)];
    return v.size() <= max_bytes_ && ValidUtf8(v);
  }

 private:
  LenientCsvRecord split_;
  size_t max_bytes_;
  std::vector<std::string_view> views_;
};

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

  std::optional<Error> Read(SnapshotBuilder* b) override {
    std::vector<std::string> columns = columns_;
    const AttrTable& attrs = b->mapping().attrs();
    std::vector<int> col_of_slot;
    bool bound = false;
    std::optional<Error> bind_error;
    auto bind = [&] {
      bound = true;
      col_of_slot.assign(attrs.size(), -1);
      for (size_t s = 0; s < attrs.size(); ++s) {
        const std::string& name = attrs.name(static_cast<int>(s));
        int c = ColumnIndex(columns, name);
        if (c < 0 && !name.empty() && name[0] != '$' && !bind_error) {
          bind_error = Error::Unusable(path_ + ": column '" + name +
                                       "' used by the configuration is not in the header (wrong "
                                       "delimiter or file?)");
        }
        col_of_slot[s] = c;
      }
    };
    std::string data;
    if (auto err = LoadCsv(path_, &data)) return err;
    const sync::SharedString file(path_);  // one copy for every record's origin
    // Records are mapped on every core while the parser reads on.
    OrderedMapper mapper(b, &col_of_slot, &data, file,
                         std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
    auto err = ParseCsv(
        path_, data, *opts_, header_, &columns,
        [&](const std::vector<std::string_view>& fields, int64_t line) {
          if (!bound) bind();
          if (bind_error) return;
          mapper.Add(fields, line);
        },
        [&](int64_t line, std::string reason, std::string_view raw) {
          b->CountRead();
          if (!bound) bind();
          std::string key;
          if (!bind_error) {
            // Runs for rejected records only: the fast path never splits twice.
            RecoveredFields rf(raw, *opts_, columns.size());
            CsvRowView row(&col_of_slot, &rf.fields());
            key = b->RecoverUserKey(row, [&](int slot) {
              // c < 0: a derived name ($...), absent from every row alike.
              int c = col_of_slot[static_cast<size_t>(slot)];
              return c < 0 || rf.Certain(c);
            });
          }
          b->Reject(sync::Origin{file, line}, sync::EntityType::kUser, std::move(key), "",
                    std::move(reason));
        });
    if (err) return err;
    if (!bound) bind();
    if (bind_error) return bind_error;
    mapper.Finish();
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

std::optional<Error> LoadIdParentOus(const SourceOptions& o, SnapshotBuilder* b) {
  std::vector<std::string> columns;
  int id = -1, parent = -1, name = -1, desc = -1;
  bool checked = false;
  std::optional<Error> fatal;
  const sync::SharedString ou_file(o.ou_file);  // one copy for every record's origin
  // Finds the columns once the header is known (at the first record).
  auto check = [&] {
    if (checked) return;
    checked = true;
    id = ColumnIndex(columns, o.ou_id);
    parent = ColumnIndex(columns, o.ou_parent);
    name = ColumnIndex(columns, o.ou_name);
    desc = o.ou_description.empty() ? -1 : ColumnIndex(columns, o.ou_description);
    for (auto [col, key] : {std::pair{id, o.ou_id}, {parent, o.ou_parent}, {name, o.ou_name}}) {
      if (col < 0) {
        fatal = Error::Unusable(o.ou_file + ": column '" + key + "' is not in the header");
      }
    }
    if (!o.ou_description.empty() && desc < 0) {
      fatal =
          Error::Unusable(o.ou_file + ": column '" + o.ou_description + "' is not in the header");
    }
  };
  auto err = ReadCsv(
      o.ou_file, o, true, &columns,
      [&](const std::vector<std::string_view>& f, int64_t line) {
        check();
        if (fatal) return;
        sync::DesiredOu ou;
        ou.origin = sync::Origin{ou_file, line};
        ou.key = Trimmed(f[static_cast<size_t>(id)]);
        ou.parent_key = Trimmed(f[static_cast<size_t>(parent)]);
        ou.name = Trimmed(f[static_cast<size_t>(name)]);
        if (desc >= 0) ou.description = Trimmed(f[static_cast<size_t>(desc)]);
        if (ou.key.empty()) {
          b->Reject(ou.origin, sync::EntityType::kOu, "", "ou", "missing department id");
          return;
        }
        if (ou.name.empty()) {
          b->Reject(ou.origin, sync::EntityType::kOu, ou.key, "ou", "missing department name");
          return;
        }
        if (ou.parent_key == ou.key) {
          b->Reject(ou.origin, sync::EntityType::kOu, ou.key, "ou", "department is its own parent");
          return;
        }
        b->AddOu(std::move(ou));
      },
      [&](int64_t line, std::string reason, std::string_view raw) {
        check();
        std::string key;
        if (!fatal) {
          RecoveredFields rf(raw, o, columns.size());
          if (rf.Certain(id)) key = Trimmed(rf.fields()[static_cast<size_t>(id)]);
        }
        b->Reject(sync::Origin{ou_file, line}, sync::EntityType::kOu, std::move(key), "ou",
                  std::move(reason));
      });
  if (err) return err;
  return fatal;
}

}  // namespace idsync::connectors
