// OrderedMapper (connectors/src/ordered_mapper.cpp) with more mapping tasks
// than this machine has cores: whatever the mix of records whose fields view
// the file's buffer and records whose fields were copied out of it (quoted
// fields the parser unescapes), the snapshot is the sequential one. The
// mapper hands the buffer's pages back once every batch that views them is
// added; handing back a page a running batch still reads would turn its
// fields into zeros.
#include "ordered_mapper.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mapping.h"

namespace idsync::connectors {
namespace {

TEST(OrderedMapper,
     ManyTasksOverCopiedAndViewedRecordsGiveTheSequentialSnapshot) {
  SourceOptions opts;
  opts.type = "csv";
  opts.user_key = "id";
  config::MappingConfig mc;
  mc.fields["username"] = config::Expression{"{name}", {}, "mapping.username"};
  mc.fields["primary_ou"] =
      config::Expression{"@root", {}, "mapping.primary_ou"};
  Mapping mapping;
  config::Diagnostics diags;
  ASSERT_TRUE(mapping.Compile(mc, opts, "idsync.yaml", &diags));
  const std::vector<std::string> columns = {"id", "name"};
  std::vector<int> col_of_slot(mapping.attrs().size(), -1);
  for (size_t s = 0; s < col_of_slot.size(); ++s) {
    const std::string& name = mapping.attrs().name(static_cast<int>(s));
    for (size_t c = 0; c < columns.size(); ++c) {
      if (columns[c] == name) col_of_slot[s] = static_cast<int>(c);
    }
  }

  // Three batches of copied records (4,096 each), then eight of records
  // viewing the buffer, then copied and viewed ones alternating by batch:
  // with eight tasks, copied batches sit ahead of viewing ones in flight.
  constexpr int kBatch = 4096;
  std::vector<bool> copied;
  for (int b = 0; b < 3; ++b) copied.insert(copied.end(), kBatch, true);
  for (int b = 0; b < 8; ++b) copied.insert(copied.end(), kBatch, false);
  for (int b = 0; b < 6; ++b) copied.insert(copied.end(), kBatch, b % 2 == 0);
  std::string data;
  std::vector<std::pair<size_t, size_t>> at;  // each record's fields in data
  for (size_t i = 0; i < copied.size(); ++i) {
    const std::string id = std::to_string(1000000 + i),
                      name = "user" + std::to_string(i);
    at.emplace_back(data.size(), id.size());
    data += id + "," + name + "\n";
  }
  SnapshotBuilder builder(&mapping, &opts);
  {
    OrderedMapper mapper(&builder, &col_of_slot, &data,
                         sync::SharedString("people.csv"), 8);
    for (size_t i = 0; i < copied.size(); ++i) {
      const std::string_view id(data.data() + at[i].first, at[i].second);
      const std::string_view name(id.data() + id.size() + 1,
                                  4 + std::to_string(i).size());
      if (copied[i]) {
        // As the parser's scratch copy of an unescaped field: outside data.
        const std::string own_id(id), own_name(name);
        mapper.Add({own_id, own_name}, static_cast<int64_t>(i) + 2);
      } else {
        mapper.Add({id, name}, static_cast<int64_t>(i) + 2);
      }
    }
    mapper.Finish();
  }
  const sync::SourceSnapshot s = builder.Finish("csv:people.csv");
  EXPECT_TRUE(s.rejected.empty()) << s.rejected.front().reason;
  ASSERT_EQ(s.users.size(), copied.size());
  for (size_t i = 0; i < s.users.size(); ++i) {
    ASSERT_EQ(s.users.key(i), std::to_string(1000000 + i));
    ASSERT_EQ(s.users.username(i), "user" + std::to_string(i));
    ASSERT_EQ(s.users.origin(i).line, static_cast<int64_t>(i) + 2);
  }
}

}  // namespace
}  // namespace idsync::connectors
