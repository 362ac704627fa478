// A real OAuth 2.1 / OpenID authorization server for the tests: oidc-provider with scripted
// login and consent (the test follows the redirects like a browser, nobody types anything),
// RFC 8707 resource indicators (RS256 JWT access tokens with aud = the requested resource).
// Env: OIDC_PORT, OIDC_KEY_FILE (a private JWK to sign with; the test rotates keys by
// restarting with another), OIDC_REDIRECT (the client's redirect URI), OIDC_SCOPES,
// OIDC_TOKEN_FORMAT (jwt, or opaque for introspection; the resource server introspects as
// rs-client / rs-secret).
// Test-only: POST /test/sign signs the JSON claims it is given with the current key, so the
// test can present expired, not-yet-valid or foreign-issuer tokens made by this very issuer.
import fs from 'node:fs';
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';
import { SignJWT, importJWK } from 'jose';

const PORT = Number(process.env.OIDC_PORT || 9400);
const ISSUER = `http://127.0.0.1:${PORT}`;
const REDIRECT = process.env.OIDC_REDIRECT || 'http://127.0.0.1:8765/callback';
const SCOPES = process.env.OIDC_SCOPES || 'mcp:read mcp:write';
const FORMAT = process.env.OIDC_TOKEN_FORMAT || 'jwt';

let jwk;
if (process.env.OIDC_KEY_FILE && fs.existsSync(process.env.OIDC_KEY_FILE)) {
  jwk = JSON.parse(fs.readFileSync(process.env.OIDC_KEY_FILE, 'utf8'));
} else {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  jwk = { ...privateKey.export({ format: 'jwk' }), kid: `k-${Date.now()}`, use: 'sig', alg: 'RS256' };
  if (process.env.OIDC_KEY_FILE) fs.writeFileSync(process.env.OIDC_KEY_FILE, JSON.stringify(jwk));
}

const provider = new Provider(ISSUER, {
  clients: [
    { client_id: 'test-client', token_endpoint_auth_method: 'none', redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    { client_id: 'rs-client', client_secret: 'rs-secret', redirect_uris: [REDIRECT] },
  ],
  jwks: { keys: [jwk] },
  cookies: { keys: ['test-cookie-key'] },
  scopes: ['openid', 'offline_access', ...SCOPES.split(' ')],
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => ({
        scope: SCOPES, audience: resource, accessTokenTTL: 600, accessTokenFormat: FORMAT, jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
});

async function approve(req, res) {
  const details = await provider.interactionDetails(req, res);
  let result;
  if (details.prompt.name === 'login') {
    result = { login: { accountId: 'test-user' } };
  } else {
    const grant = details.grantId ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const missing = details.prompt.details || {};
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes || {})) grant.addResourceScope(resource, scopes.join(' '));
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

async function sign(req, res) {
  let body = '';
  for await (const chunk of req) body += chunk;
  const key = await importJWK(jwk, 'RS256');
  const token = await new SignJWT(JSON.parse(body)).setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'at+jwt' }).sign(key);
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(token);
}

const callback = provider.callback();
http.createServer((req, res) => {
  const fail = (e) => { res.statusCode = 500; res.end(String(e)); };
  if (req.url.startsWith('/interaction/')) approve(req, res).catch(fail);
  else if (req.url === '/test/sign' && req.method === 'POST') sign(req, res).catch(fail);
  else callback(req, res);
}).listen(PORT, '127.0.0.1', () => console.error(`issuer ${ISSUER} ready`));
