#include "idsync/daemon/logging.h"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

namespace idsync::daemon {
namespace {

void AppendJsonString(spdlog::memory_buf_t& dest, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  dest.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': dest.append(std::string_view("\\\"")); break;
      case '\\': dest.append(std::string_view("\\\\")); break;
      case '\n': dest.append(std::string_view("\\n")); break;
      case '\r': dest.append(std::string_view("\\r")); break;
      case '\t': dest.append(std::string_view("\\t")); break;
      default:
        if (c < 0x20) {
          const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          dest.append(esc, esc + sizeof esc);
        } else {
          dest.push_back(static_cast<char>(c));
        }
    }
  }
  dest.push_back('"');
}

// One JSON object per line, so that container log collectors can parse it
// without a multi-line rule; the message is escaped, unlike a pattern string.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto t = system_clock::to_time_t(msg.time);
    auto ms = duration_cast<milliseconds>(msg.time.time_since_epoch()) % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min, tm.tm_sec, static_cast<int>(ms.count()));
    dest.append(std::string_view("{\"time\":\""));
    dest.append(std::string_view(ts));
    dest.append(std::string_view("\",\"level\":\""));
    auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level.data(), level.data() + level.size());
    dest.append(std::string_view("\",\"logger\":"));
    AppendJsonString(dest, std::string_view(msg.logger_name.data(),
                                            msg.logger_name.size()));
    dest.append(std::string_view(",\"msg\":"));
    AppendJsonString(dest,
                     std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(std::string_view("}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

bool SetUpLogging(const std::string& level, const std::string& format) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") return false;
  if (format != "text" && format != "json") return false;

  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  if (format == "json") {
    sink->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    // Under systemd the journal adds its own timestamps.
    const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    sink->set_pattern(journal ? "%n %l: %v" : "%Y-%m-%d %H:%M:%S.%e %n %l: %v");
  }
  spdlog::drop_all();
  auto make = [&](const std::string& name) {
    auto logger = std::make_shared<spdlog::logger>(name, sink);
    logger->set_level(lvl);
    spdlog::register_logger(logger);
    return logger;
  };
  spdlog::set_default_logger(make("idsync"));
  for (const char* name : {"idaas", "store", "sync", "source", "admin"}) {
    make(name);
  }
  spdlog::set_level(lvl);
  return true;
}

}  // namespace idsync::daemon
