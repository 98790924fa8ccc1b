#include "body_fields.h"

#include <array>
#include <string_view>
#include <utility>

namespace idsync::emulator {
namespace {

using namespace std::string_view_literals;

constexpr std::array kCreateUser = {"username"sv,
                                    "primaryOrganizationalUnitId"sv,
                                    "displayName"sv,
                                    "description"sv,
                                    "password"sv,
                                    "email"sv,
                                    "emailVerified"sv,
                                    "phoneNumber"sv,
                                    "phoneNumberVerified"sv,
                                    "phoneRegion"sv,
                                    "userExternalId"sv,
                                    "customFields"sv,
                                    "passwordInitializationConfig"sv};
// PatchUser has no description, password or userExternalId.
constexpr std::array kPatchUser = {"username"sv,    "displayName"sv,
                                   "email"sv,       "emailVerified"sv,
                                   "phoneNumber"sv, "phoneNumberVerified"sv,
                                   "phoneRegion"sv, "customFields"sv};
constexpr std::array kPassword = {"password"sv};
constexpr std::array kUserByExternalId = {"userExternalId"sv, "userSourceId"sv,
                                          "userSourceType"sv};
constexpr std::array kUsername = {"username"sv};
constexpr std::array kEmail = {"email"sv};
constexpr std::array kPhoneNumber = {"phoneNumber"sv};
constexpr std::array kOuIds = {"organizationalUnitIds"sv};
constexpr std::array kOuId = {"organizationalUnitId"sv};
constexpr std::array kCreateOu = {"organizationalUnitName"sv, "parentId"sv,
                                  "description"sv,
                                  "organizationalUnitExternalId"sv};
constexpr std::array kPatchOu = {"organizationalUnitName"sv, "description"sv};
constexpr std::array kOuByExternalId = {"organizationalUnitExternalId"sv,
                                        "organizationalUnitSourceId"sv,
                                        "organizationalUnitSourceType"sv};
// Groups have no description in the write operations.
constexpr std::array kCreateGroup = {"groupName"sv, "groupExternalId"sv};
constexpr std::array kPatchGroup = {"groupName"sv};
constexpr std::array kUserIds = {"userIds"sv};

constexpr std::array kCreateCustomField = {"fieldName"sv, "fieldValue"sv};
constexpr std::array kPatchCustomField = {"fieldName"sv, "fieldValue"sv,
                                          "operation"sv, "operator"sv};
constexpr std::array kPasswordInitialization = {
    "passwordInitializationPolicyPriority"sv, "passwordInitializationType"sv,
    "passwordForcedUpdateStatus"sv, "userNotificationChannels"sv};

constexpr std::pair<std::string_view, std::span<const std::string_view>>
    kOperations[] = {
        {"CreateUser", kCreateUser},
        {"PatchUser", kPatchUser},
        {"UpdateUserPassword", kPassword},
        {"GetUserIdByUserExternalId", kUserByExternalId},
        {"GetUserIdByUsername", kUsername},
        {"GetUserIdByEmail", kEmail},
        {"GetUserIdByPhoneNumber", kPhoneNumber},
        {"AddUserToOrganizationalUnits", kOuIds},
        {"RemoveUserFromOrganizationalUnits", kOuIds},
        {"SetUserPrimaryOrganizationalUnit", kOuId},
        {"CreateOrganizationalUnit", kCreateOu},
        {"PatchOrganizationalUnit", kPatchOu},
        {"GetOrganizationalUnitIdByExternalId", kOuByExternalId},
        {"CreateGroup", kCreateGroup},
        {"PatchGroup", kPatchGroup},
        {"AddUsersToGroup", kUserIds},
        {"RemoveUsersFromGroup", kUserIds},
};

}  // namespace

std::optional<std::span<const std::string_view>> BodyFields(
    std::string_view operation) {
  for (const auto& [name, fields] : kOperations) {
    if (name == operation) return fields;
  }
  return std::nullopt;
}

std::span<const std::string_view> CreateCustomFieldFields() {
  return kCreateCustomField;
}
std::span<const std::string_view> PatchCustomFieldFields() {
  return kPatchCustomField;
}
std::span<const std::string_view> PasswordInitializationFields() {
  return kPasswordInitialization;
}

}  // namespace idsync::emulator
