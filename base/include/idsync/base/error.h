// The project's one error vocabulary, after leveldb's Status: an Error is a
// code and a message, a Result<T> is a T or an Error, and a Status is a
// Result<void>. Every module returns these (docs/architecture.md, "Errors");
// a layer that knows more about a failure (the IDaaS API's kind, HTTP status
// and request id) attaches it as a detail, which only that layer reads.
//
// Thread-safety: values; a detail is immutable and shared.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <memory>
#include <string>
#include <utility>

namespace idsync::base {

// What a layer knows beyond code and message, for its own callers.
// Immutable once attached.
class ErrorDetail {
 public:
  virtual ~ErrorDetail() = default;
};

struct Error {
  enum class Code {
    kInvalid,   // bad input, argument or configuration; a constraint violated
    kNotFound,  // no such database, file, entry, run or object
    kConflict,  // it exists already (a create that may have been made earlier)
    kIo,        // the operating system failed: open, read, write, stat, disk full
    kUnusable,  // read, but it cannot be what the configuration describes
    kBusy,      // a database stayed locked by another connection past its timeout
    kLocked,    // another idsync process holds the single-writer lock
    kCorrupt,   // an integrity check failed, or corruption was met
    kSchema,    // a schema version newer than supported, or not migrated
    kRemote,    // a remote party (IDaaS, an LDAP server, an HR feed) failed or refused
  };

  Error() = default;
  Error(Code c, std::string m, std::shared_ptr<const ErrorDetail> d = nullptr)
      : code(c), message(std::move(m)), detail(std::move(d)) {}

  static Error Invalid(std::string m) { return {Code::kInvalid, std::move(m)}; }
  static Error NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Error Io(std::string m) { return {Code::kIo, std::move(m)}; }
  static Error Unusable(std::string m) { return {Code::kUnusable, std::move(m)}; }
  static Error Remote(std::string m) { return {Code::kRemote, std::move(m)}; }

  Code code = Code::kInvalid;
  // Names the cause (the file, line, URL, database...); shown to operators
  // as it is, so it never holds a secret.
  std::string message;
  // nullptr unless the layer that made the error attached one.
  std::shared_ptr<const ErrorDetail> detail;
};

// "invalid", "not_found", "io", "unusable", "busy", "locked", "corrupt",
// "schema", "remote".
const char* CodeName(Error::Code code);

// Found by ADL when value() is called on an error (the project avoids that):
// throws std::runtime_error("<code>: <message>").
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

using Status = Result<void>;

}  // namespace idsync::base
