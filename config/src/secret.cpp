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

bool ResolveSecret(const std::string& reference, Secret* out,
                   std::string* error) {
  std::string value;
  if (reference.starts_with("env:")) {
    std::string name = reference.substr(4);
    if (name.empty()) {
      *error = "env: needs a variable name, e.g. env:IDSYNC_CLIENT_SECRET";
      return false;
    }
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') {
      *error = "environment variable " + name + " is not set or empty";
      return false;
    }
    value = v;
  } else if (reference.starts_with("file:")) {
    std::string path = reference.substr(5);
    if (path.empty() || path[0] != '/') {
      *error = "file: needs an absolute path, e.g. file:/etc/idsync/secret";
      return false;
    }
    if (!ReadSecretFile(path, /*check_mode=*/true, &value, error)) return false;
  } else {
    std::string name = reference.starts_with("credential:")
                           ? reference.substr(11)
                           : reference;
    if (!ValidName(name)) {
      *error =
          "a secret must be given as env:NAME, file:/PATH or credential:NAME, "
          "never as a literal value";
      return false;
    }
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
