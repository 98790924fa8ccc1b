// Searches test output and every file a test left behind for known secrets
// (S2 of the test plan): the client secret, the admin token, the access
// tokens the emulator issued. A secret is found as written, and inside base64
// at any of the three alignments (an Authorization: Basic value, a dump of
// an encoded body), since a leak need not be verbatim.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace idsync::e2e {

struct Leak {
  std::string where;   // "file <path>" or the name the text was given
  std::string secret;  // the secret's name, never its value
  std::string form;    // "verbatim" or "base64"
  size_t offset = 0;
};

class SecretScanner {
 public:
  // Secrets shorter than 8 characters would match by chance; refuse them.
  void Add(const std::string& name, const std::string& value) {
    if (value.size() < 8)
      throw std::invalid_argument("secret " + name + " is too short to scan");
    needles_.push_back({name, "verbatim", value});
    // The base64 of `value` preceded by 0, 1 or 2 other bytes: the characters
    // that depend on `value` alone, whatever surrounds it.
    for (size_t shift = 0; shift < 3; ++shift) {
      std::string padded = std::string(shift, '\0') + value;
      std::string encoded = Base64(padded);
      size_t head =
          shift == 0 ? 0 : (shift * 8 + 5) / 6;  // chars touched by the filler
      size_t full = (padded.size() / 3) * 4;     // chars of whole groups
      if (full > head + 4)
        needles_.push_back({name, "base64", encoded.substr(head, full - head)});
    }
  }

  std::vector<Leak> ScanText(const std::string& where,
                             std::string_view text) const {
    std::vector<Leak> out;
    for (const auto& n : needles_) {
      for (size_t at = text.find(n.text); at != std::string_view::npos;
           at = text.find(n.text, at + 1)) {
        out.push_back({where, n.name, n.form, at});
      }
    }
    return out;
  }

  // Every regular file under `dir`, read as bytes (databases included).
  std::vector<Leak> ScanTree(const std::string& dir,
                             size_t* files = nullptr) const {
    std::vector<Leak> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      if (files) ++*files;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      auto found = ScanText("file " + e.path().string(), bytes.str());
      out.insert(out.end(), found.begin(), found.end());
    }
    return out;
  }

  static std::string Describe(const std::vector<Leak>& leaks) {
    std::string out;
    for (const auto& l : leaks) {
      out += l.secret + " (" + l.form + ") in " + l.where + " at byte " +
             std::to_string(l.offset) + "\n";
    }
    return out;
  }

 private:
  static std::string Base64(std::string_view in) {
    static const char* t =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
      uint32_t n = (uint32_t(uint8_t(in[i])) << 16) |
                   (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
      for (int k = 18; k >= 0; k -= 6) out += t[(n >> k) & 63];
    }
    return out;  // the partial last group is not needed (see Add)
  }

  struct Needle {
    std::string name, form, text;
  };
  std::vector<Needle> needles_;
};

}  // namespace idsync::e2e
