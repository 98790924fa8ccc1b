// Calls the emulator's admin API through Alibaba's official OpenAPI runtime
// (@alicloud/openapi-client, RPC style, its default ACS3-HMAC-SHA256 signing),
// unchanged: the setup sequence, then one call with a wrong secret.
// Usage: node setup_via_sdk.js HOST:PORT INSTANCE_ID ROOT_OU
// Prints one JSON line with what it saw; exits 1 on an unexpected failure.
'use strict';
const OpenApi = require('@alicloud/openapi-client');
const Util = require('@alicloud/tea-util');

const [endpoint, instanceId, rootOu] = process.argv.slice(2);

function client(secret) {
  return new OpenApi.default(new OpenApi.Config({
    accessKeyId: 'emulator-access-key',
    accessKeySecret: secret,
    endpoint,
    protocol: 'http',
  }));
}

async function call(c, action, query) {
  const params = new OpenApi.Params({
    action, version: '2021-12-01', protocol: 'HTTP', pathname: '/', method: 'POST',
    authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: 'json',
  });
  const request = new OpenApi.OpenApiRequest({ query: OpenApi.default.query
    ? OpenApi.default.query(query) : query });
  const response = await c.callApi(params, request, new Util.RuntimeOptions({ autoretry: false }));
  return response.body;
}

(async () => {
  const good = client('emulator-access-key-secret');
  const out = {};
  const created = await call(good, 'CreateApplication', {
    InstanceId: instanceId, ApplicationName: 'idsync sdk', ApplicationSourceType:
      'urn:alibaba:idaas:app:source:standard', SsoType: 'oidc',
  });
  const app = created.ApplicationId;
  out.applicationId = app;
  await call(good, 'EnableApplicationApiInvoke', { InstanceId: instanceId, ApplicationId: app });
  await call(good, 'SetApplicationGrantScope', {
    InstanceId: instanceId, ApplicationId: app,
    'GrantScopes.1': 'urn:alibaba:idaas:scope:organizational_unit:read_all',
    'GrantScopes.2': 'urn:alibaba:idaas:scope:user:manage_all',
  });
  await call(good, 'SetApplicationProvisioningScope', {
    InstanceId: instanceId, ApplicationId: app, 'OrganizationalUnitIds.1': rootOu,
  });
  const secret = await call(good, 'CreateApplicationClientSecret',
    { InstanceId: instanceId, ApplicationId: app });
  out.clientId = secret.ApplicationClientSecret.ClientId;
  out.clientSecret = secret.ApplicationClientSecret.ClientSecret;
  const scopes = await call(good, 'GetApplicationGrantScope',
    { InstanceId: instanceId, ApplicationId: app });
  out.grantScopes = scopes.ApplicationGrantScope.GrantScopes;
  out.requestId = scopes.RequestId;
  try {
    await call(client('wrong-secret'), 'ListApplications', { InstanceId: instanceId });
    out.wrongSecret = 'accepted';
  } catch (e) {
    out.wrongSecret = e.code;
  }
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(`failed: ${e.code || ''} ${e.message}`);
  process.exit(1);
});
