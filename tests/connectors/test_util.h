#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "idsync/config/config.h"
#include "idsync/connectors/connectors.h"
#include "process.h"

namespace idsync::testing {

// The non-source sections every test config shares.
extern const char* const kCommonSections;

// Writes idsync.yaml (common sections + `source_and_mapping`) into dir and
// loads it (secrets not resolved).
config::Config LoadConfig(const TempDir& dir, const std::string& source_and_mapping,
                          config::Diagnostics* diags);

// ValidateConfig problems as "line:col key.path: message" strings.
std::vector<std::string> Validate(const config::Config& cfg);

// Loads, checks it is valid, reads; fails the test on a read error.
sync::SourceSnapshot MustRead(const TempDir& dir, const std::string& yaml);

// A copy of the user with this key, if the snapshot has one.
std::optional<sync::DesiredUser> FindUser(const sync::SourceSnapshot& s, const std::string& key);
const sync::DesiredOu* FindOu(const sync::SourceSnapshot& s, const std::string& key);
const sync::DesiredGroup* FindGroup(const sync::SourceSnapshot& s, const std::string& key);
// The snapshot as sorted lines, without where each record came from (a file
// line, a URL): for comparing what two connectors read, with readable diffs.
std::vector<std::string> SnapshotLines(const sync::SourceSnapshot& s);

// The test PKI (tests/support/make-test-certs.sh), made once at build time
// (tests/CMakeLists.txt); read-only, shared by every test process.
const std::string& TestCertDir();

// "file-basename:line field: reason" for each rejection.
std::vector<std::string> Rejections(const sync::SourceSnapshot& s);
// "file-basename:line entity 'key'" for each rejection: what the planner
// keeps present (an empty key: every object of that entity type).
std::vector<std::string> RejectedKeys(const sync::SourceSnapshot& s);

}  // namespace idsync::testing
