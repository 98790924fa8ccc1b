#include "create_or_find.h"

#include <utility>

namespace idsync::sync {
namespace asio = boost::asio;

namespace {

// An account this record created earlier: by external id, else by username
// when that account carries the record's key.
asio::awaitable<base::Result<std::string>> FindCreatedUser(RemoteDirectory& remote, std::string key,
                                                           std::string username) {
  auto by_key = co_await remote.FindUserIdByExternalId(key);
  if (by_key || !IsMissing(by_key.error()) || username.empty()) co_return by_key;
  auto by_name = co_await remote.FindUserIdByUsername(username);
  if (!by_name) co_return by_name;
  auto user = co_await remote.GetUser(*by_name);
  if (!user) co_return user.error();
  if (user->external_id == key) co_return *by_name;
  co_return RemoteFailure(
      base::Error::Code::kNotFound,
      "username " + username + " belongs to account " + *by_name + " with another external id");
}

}  // namespace

asio::awaitable<base::Result<std::string>> FindCreated(RemoteDirectory& remote, EntityType type,
                                                       std::string key, std::string name) {
  switch (type) {
    case EntityType::kUser:
      co_return co_await FindCreatedUser(remote, std::move(key), std::move(name));
    case EntityType::kOu:
      co_return co_await remote.FindOuIdByExternalId(std::move(key));
    case EntityType::kGroup:
      co_return co_await remote.FindGroupIdByExternalId(std::move(name), std::move(key));
  }
  co_return RemoteFailure(base::Error::Code::kRemote, "");
}

asio::awaitable<Outcome> CreateOrFind(
    std::function<asio::awaitable<base::Result<std::string>>()> create,
    std::function<asio::awaitable<base::Result<std::string>>()> find) {
  auto r = co_await create();
  if (r) {
    Outcome o = Outcome::Ok();
    o.created_id = *r;
    co_return o;
  }
  const base::Error e = r.error();
  const bool ambiguous = FactsOf(e).ambiguous;
  if (!ambiguous && e.code != base::Error::Code::kConflict) co_return Outcome::Failed(e);
  auto found = co_await find();
  if (found) {
    Outcome o = Outcome::Ok(FactsOf(e).attempts);
    o.created_id = *found;
    o.existed = true;
    co_return o;
  }
  if (!IsMissing(found.error())) {
    // Whether it exists cannot be told: an ambiguous create stays in doubt.
    Outcome failed = Outcome::Failed(found.error());
    co_return ambiguous ? Outcome::InDoubt(std::move(failed)) : failed;
  }
  // Absent: a conflict is about something else (e.g. the username is taken);
  // an ambiguous create did not happen, so it is sent again, once.
  if (!ambiguous) co_return Outcome::Failed(e);
  auto again = co_await create();
  if (!again && FactsOf(again.error()).ambiguous) {
    co_return Outcome::InDoubt(Outcome::Failed(again.error()));
  }
  if (!again) co_return Outcome::Failed(again.error());
  Outcome o = Outcome::Ok(FactsOf(e).attempts);
  o.created_id = *again;
  co_return o;
}

}  // namespace idsync::sync
