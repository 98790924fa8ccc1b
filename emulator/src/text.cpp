#include "text.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace idsync::emulator {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

std::optional<double> ParseNumber(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(),
                                   value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

std::string PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int high = HexValue(text[i + 1]);
      int low = HexValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

QueryParams ParseQuery(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view()
                                          : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      params.emplace_back(PercentDecode(pair, true), std::string());
    } else {
      params.emplace_back(PercentDecode(pair.substr(0, eq), true),
                          PercentDecode(pair.substr(eq + 1), true));
    }
  }
  return params;
}

std::optional<std::string> FindParam(const QueryParams& params,
                                     std::string_view key) {
  for (const auto& [name, value] : params) {
    if (name == key) return value;
  }
  return std::nullopt;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      value = c - '0' + 52;
    } else if (c == '+' || c == '-') {
      value = 62;
    } else if (c == '/' || c == '_') {
      value = 63;
    } else if (c == '=') {
      break;
    } else {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

std::vector<std::string> SplitList(std::string_view text, char separator) {
  std::vector<std::string> items;
  while (true) {
    size_t pos = text.find(separator);
    std::string_view item = Trim(text.substr(0, pos));
    if (!item.empty()) items.emplace_back(item);
    if (pos == std::string_view::npos) break;
    text.remove_prefix(pos + 1);
  }
  return items;
}

std::optional<std::chrono::microseconds> ParseDuration(
    std::string_view text, std::string_view default_unit) {
  text = Trim(text);
  size_t unit_start = text.size();
  while (unit_start > 0 && std::isalpha(static_cast<unsigned char>(
                               text[unit_start - 1]))) {
    --unit_start;
  }
  std::string_view unit = text.substr(unit_start);
  if (unit.empty()) unit = default_unit;
  auto number = ParseNumber(text.substr(0, unit_start));
  if (!number || *number < 0) return std::nullopt;
  double micros;
  if (unit == "us") {
    micros = *number;
  } else if (unit == "ms") {
    micros = *number * 1e3;
  } else if (unit == "s") {
    micros = *number * 1e6;
  } else if (unit == "m") {
    micros = *number * 60e6;
  } else if (unit == "h") {
    micros = *number * 3600e6;
  } else {
    return std::nullopt;
  }
  if (micros > 1e15) return std::nullopt;
  return std::chrono::microseconds(static_cast<int64_t>(std::llround(micros)));
}

std::optional<LatencyRange> ParseLatency(std::string_view text) {
  text = Trim(text);
  size_t dash = text.find('-');
  LatencyRange range;
  if (dash == std::string_view::npos) {
    auto fixed = ParseDuration(text, "ms");
    if (!fixed) return std::nullopt;
    range.min = range.max = *fixed;
    return range;
  }
  auto low = ParseDuration(text.substr(0, dash), "ms");
  auto high = ParseDuration(text.substr(dash + 1), "ms");
  if (!low || !high || *low > *high) return std::nullopt;
  range.min = *low;
  range.max = *high;
  return range;
}

std::string FormatLatency(const LatencyRange& latency) {
  auto ms = [](std::chrono::microseconds d) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%gms",
                  static_cast<double>(d.count()) / 1e3);
    return std::string(buffer);
  };
  if (latency.min == latency.max) return ms(latency.min);
  return ms(latency.min) + "-" + ms(latency.max);
}

std::optional<FaultRates> ParseFaults(std::string_view text,
                                      std::string* error) {
  FaultRates rates;
  for (const std::string& item : SplitList(text, ',')) {
    size_t eq = item.find('=');
    if (eq == std::string::npos) {
      *error = "fault '" + item + "' is not NAME=RATE";
      return std::nullopt;
    }
    std::string name(Trim(std::string_view(item).substr(0, eq)));
    auto rate = ParseNumber(Trim(std::string_view(item).substr(eq + 1)));
    if (!rate || *rate < 0 || *rate > 1) {
      *error = "fault rate for '" + name + "' must be a number in [0,1]";
      return std::nullopt;
    }
    if (name == "5xx") {
      rates.server_error = *rate;
    } else if (name == "reset") {
      rates.reset = *rate;
    } else if (name == "drop_after_commit") {
      rates.drop_after_commit = *rate;
    } else if (name == "throttle") {
      rates.throttle = *rate;
    } else if (name == "hold_after_commit") {
      rates.hold_after_commit = *rate;
    } else if (name == "5xx_after_commit") {
      rates.server_error_after_commit = *rate;
    } else {
      *error = "unknown fault '" + name +
               "' (expected 5xx, reset, drop_after_commit, throttle, "
               "5xx_after_commit or hold_after_commit)";
      return std::nullopt;
    }
  }
  if (rates.server_error + rates.reset + rates.drop_after_commit +
          rates.throttle + rates.server_error_after_commit +
          rates.hold_after_commit >
      1.0 + 1e-9) {
    *error = "fault rates add up to more than 1";
    return std::nullopt;
  }
  return rates;
}

std::string FormatFaults(const FaultRates& faults) {
  char buffer[240];
  std::snprintf(buffer, sizeof buffer,
                "5xx=%g,reset=%g,drop_after_commit=%g,throttle=%g,"
                "5xx_after_commit=%g,hold_after_commit=%g",
                faults.server_error, faults.reset, faults.drop_after_commit,
                faults.throttle, faults.server_error_after_commit,
                faults.hold_after_commit);
  return buffer;
}

}  // namespace idsync::emulator
