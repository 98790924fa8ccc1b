#include "idsync/base/error.h"

#include <stdexcept>

namespace idsync::base {

const char* CodeName(Error::Code code) {
  switch (code) {
    case Error::Code::kInvalid: return "invalid";
    case Error::Code::kNotFound: return "not_found";
    case Error::Code::kConflict: return "conflict";
    case Error::Code::kIo: return "io";
    case Error::Code::kUnusable: return "unusable";
    case Error::Code::kBusy: return "busy";
    case Error::Code::kLocked: return "locked";
    case Error::Code::kCorrupt: return "corrupt";
    case Error::Code::kSchema: return "schema";
    case Error::Code::kRemote: return "remote";
  }
  return "unknown";
}

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::runtime_error(std::string(CodeName(e.code)) + ": " + e.message);
}

}  // namespace idsync::base
