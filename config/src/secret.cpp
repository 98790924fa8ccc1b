#include "idsync/config/secret.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace idsync::config {
namespace {

bool ValidName(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
              c == '@';
    if (!ok) return false;
  }
  return true;
}

// Secret files hold the value on the first line; a trailing newline (as
// `echo x > file` writes) is not part of it.
bool ReadSecretFile(const std::string& path, bool check_mode, std::string* value,
                    std::string* error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *error = "secret file " + path + " does not exist or cannot be read";
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *error = "secret file " + path + " is not a regular file";
    return false;
  }
  if (check_mode && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    *error = "secret file " + path + " has mode " + mode +
             ": it must not be accessible by group or others (chmod 600)";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "secret file " + path + " cannot be read";
    return false;
  }
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    *error = "secret file " + path + " is empty";
    return false;
  }
  *value = std::move(line);
  return true;
}

}  // namespace

std::optional<std::string> SecretReferenceProblem(const std::string& reference) {
  if (reference.starts_with("env:")) {
    if (reference.size() == 4) {
      return "env: needs a variable name, e.g. env:IDSYNC_CLIENT_SECRET";
    }
    return std::nullopt;
  }
  if (reference.starts_with("file:")) {
    if (reference.size() == 5 || reference[5] != '/') {
      return "file: needs an absolute path, e.g. file:/etc/idsync/secret";
    }
    return std::nullopt;
  }
  if (reference.starts_with("credential:") && ValidName(reference.substr(11))) {
    return std::nullopt;
  }
  return "not a secret reference (the value is not shown, it may be the secret "
         "itself): give env:NAME, file:/PATH or credential:NAME, never a "
         "literal value";
}

bool ResolveSecret(const std::string& reference, Secret* out,
                   std::string* error) {
  if (auto problem = SecretReferenceProblem(reference)) {
    *error = std::move(*problem);
    return false;
  }
  std::string value;
  if (reference.starts_with("env:")) {
    std::string name = reference.substr(4);
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') {
      *error = "environment variable " + name + " is not set or empty";
      return false;
    }
    value = v;
  } else if (reference.starts_with("file:")) {
    if (!ReadSecretFile(reference.substr(5), /*check_mode=*/true, &value, error)) {
      return false;
    }
  } else {
    std::string name = reference.substr(11);
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (dir == nullptr || *dir == '\0') {
      *error = "credential " + name +
               " needs $CREDENTIALS_DIRECTORY (systemd LoadCredential=); it is "
               "not set. Use env:NAME or file:/PATH outside systemd";
      return false;
    }
    // systemd makes credential files private to the service already.
    if (!ReadSecretFile(std::string(dir) + "/" + name, /*check_mode=*/false,
                        &value, error)) {
      return false;
    }
  }
  *out = Secret(reference, std::move(value));
  return true;
}

}  // namespace idsync::config
