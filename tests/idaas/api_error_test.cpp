// A call's error as the project's base::Error: the message is the one line
// operators see, the code follows the kind, and the API's detail survives.
#include <gtest/gtest.h>

#include "idsync/idaas/types.h"

namespace idsync::idaas {
namespace {

ApiError Conflict() {
  ApiError e;
  e.kind = ApiError::Kind::kConflict;
  e.http_status = 409;
  e.code = "EntityAlreadyExists.User.Username";
  e.message = "taken";
  e.request_id = "R-1";
  e.attempts = 1;
  e.action = "CreateUser";
  e.ambiguous = true;
  return e;
}

TEST(ApiErrorAsError, TheMessageIsTheOneLineAndTheDetailSurvives) {
  const ApiError api = Conflict();
  Result<int> r = api;  // `return api_error;` from a call
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, api.ToString());
  EXPECT_EQ(r.error().code, base::Error::Code::kConflict);
  const ApiError back = ApiErrorOf(r.error());
  EXPECT_EQ(back.kind, ApiError::Kind::kConflict);
  EXPECT_EQ(back.http_status, 409);
  EXPECT_EQ(back.code, "EntityAlreadyExists.User.Username");
  EXPECT_EQ(back.message, "taken");
  EXPECT_EQ(back.request_id, "R-1");
  EXPECT_EQ(back.attempts, 1);
  EXPECT_EQ(back.action, "CreateUser");
  EXPECT_TRUE(back.ambiguous);
}

TEST(ApiErrorAsError, TheCodeFollowsTheKind) {
  ApiError e;
  e.kind = ApiError::Kind::kNotFound;
  EXPECT_EQ(ToError(e).code, base::Error::Code::kNotFound);
  e.kind = ApiError::Kind::kConflict;
  EXPECT_EQ(ToError(e).code, base::Error::Code::kConflict);
  e.kind = ApiError::Kind::kClient;
  EXPECT_EQ(ToError(e).code, base::Error::Code::kInvalid);
  for (auto kind : {ApiError::Kind::kNetwork, ApiError::Kind::kTimeout, ApiError::Kind::kTls,
                    ApiError::Kind::kThrottled, ApiError::Kind::kServer, ApiError::Kind::kAuth,
                    ApiError::Kind::kPermission, ApiError::Kind::kProtocol,
                    ApiError::Kind::kCancelled}) {
    e.kind = kind;
    EXPECT_EQ(ToError(e).code, base::Error::Code::kRemote) << KindName(kind);
  }
}

TEST(ApiErrorAsError, AnErrorFromElsewhereReadsAsAProtocolErrorWithItsMessage) {
  const ApiError e = ApiErrorOf(base::Error::Io("disk full"));
  EXPECT_EQ(e.kind, ApiError::Kind::kProtocol);
  EXPECT_EQ(e.message, "disk full");
  EXPECT_FALSE(e.retryable);
  EXPECT_FALSE(e.ambiguous);
}

}  // namespace
}  // namespace idsync::idaas
