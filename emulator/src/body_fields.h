// The request body fields each Developer API operation documents (API notes
// §3 and §3.1), so that the emulator can refuse any other field the way a
// strict service would. A client that sends a field the real API does not
// have (e.g. a group description) then fails in tests, not in production.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace idsync::emulator {

// The top-level body fields of `operation` (the emulator's operation name,
// e.g. "CreateGroup"), or nullopt for operations whose body is ignored
// (no body fields: Get/Delete/List/Enable/Disable, token and revoke).
std::optional<std::span<const std::string_view>> BodyFields(
    std::string_view operation);

// The fields of one CreateUser customFields entry.
std::span<const std::string_view> CreateCustomFieldFields();
// The fields of one PatchUser customFields entry.
std::span<const std::string_view> PatchCustomFieldFields();
// The fields of CreateUser's passwordInitializationConfig.
std::span<const std::string_view> PasswordInitializationFields();

}  // namespace idsync::emulator
