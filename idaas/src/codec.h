// JSON <-> typed structs, the only place Boost.JSON meets the API types.
// Decoders are lenient about missing fields (they keep defaults) and strict
// about shape (a wrong container type is a protocol error). Private.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>

#include "idsync/idaas/types.h"

namespace idsync::idaas::detail {

namespace json = boost::json;

std::string Encode(const CreateUserRequest& r);
std::string Encode(const PatchUserRequest& r);
std::string Encode(const CreateOrganizationalUnitRequest& r);
std::string Encode(const PatchOrganizationalUnitRequest& r);
std::string Encode(const CreateGroupRequest& r);
std::string Encode(const PatchGroupRequest& r);
std::string EncodeObject(const json::object& o);

// Each returns false (with *error set) when the value has the wrong shape.
bool Decode(const json::value& v, User* out, std::string* error);
bool Decode(const json::value& v, OrganizationalUnit* out, std::string* error);
bool Decode(const json::value& v, Group* out, std::string* error);
bool Decode(const json::value& v, ProvisioningScope* out, std::string* error);
bool Decode(const json::value& v, UserPage* out, std::string* error);
bool Decode(const json::value& v, OrganizationalUnitPage* out,
            std::string* error);
bool Decode(const json::value& v, GroupPage* out, std::string* error);
bool Decode(const json::value& v, GroupMemberPage* out, std::string* error);
bool Decode(const json::value& v, TokenInfo* out, std::string* error);

// A string field of an object ("" when absent, null or not a string).
std::string StringField(const json::object& o, std::string_view key);
// The first present string field among `keys`.
std::string StringFieldAny(const json::object& o,
                           std::initializer_list<std::string_view> keys);
// An integer field (0 when absent or not a number; a numeric string counts).
int64_t IntField(const json::object& o, std::string_view key);
bool StringArrayField(const json::object& o, std::string_view key,
                      std::vector<std::string>* out, std::string* error);

}  // namespace idsync::idaas::detail
