// A real OAuth 2.1 / OpenID authorization server for the tests: oidc-provider with scripted
// login and consent (the test follows the redirects like a browser, nobody types anything),
// RFC 8707 resource indicators (RS256 JWT access tokens with aud = the requested resource).
// Env: OIDC_PORT, OIDC_KEY_FILE (a private JWK to sign with; the test rotates keys by
// restarting with another), OIDC_REDIRECT (the client's redirect URI), OIDC_SCOPES,
// OIDC_TOKEN_FORMAT (jwt, or opaque for introspection; the resource server introspects as
// rs-client / rs-secret), OIDC_PROXY_REDIRECT (when set: the confidential client proxy-client /
// proxy-secret, whose only redirect URI it is: apimcp's own callback when it is the AS proxy),
// OIDC_AT_TTL (access tokens' lifetime in seconds, default 600), OIDC_MODE:
//   standard (default) — as above, plus open dynamic client registration (RFC 7591).
//   auth0 — Auth0-like: no registration; metadata only at /.well-known/openid-configuration
//     (/.well-known/oauth-authorization-server is a 404); no introspection; `resource` is ignored
//     (stripped from /auth and /token) and Auth0's `audience` authorization parameter takes its
//     place: with it, access tokens are JWTs (OIDC_TOKEN_FORMAT) with aud = the audience; without
//     it they are opaque (userinfo only). Every client allowed the refresh_token grant gets a
//     refresh token, offline_access or not, and PKCE is required of public clients only.
// Test-only: POST /test/sign[?typ=JWT] signs the JSON claims it is given with the current key (typ at+jwt unless asked), so the
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
const MODE = process.env.OIDC_MODE || 'standard';
const PROXY_REDIRECT = process.env.OIDC_PROXY_REDIRECT;
if (MODE !== 'standard' && MODE !== 'auth0') {
  console.error(`OIDC_MODE must be standard or auth0, not ${MODE}`);
  process.exit(2);
}
const AUTH0 = MODE === 'auth0';

let jwk;
if (process.env.OIDC_KEY_FILE && fs.existsSync(process.env.OIDC_KEY_FILE)) {
  jwk = JSON.parse(fs.readFileSync(process.env.OIDC_KEY_FILE, 'utf8'));
} else {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  jwk = { ...privateKey.export({ format: 'jwk' }), kid: `k-${Date.now()}`, use: 'sig', alg: 'RS256' };
  if (process.env.OIDC_KEY_FILE) fs.writeFileSync(process.env.OIDC_KEY_FILE, JSON.stringify(jwk));
}

const clients = [
  { client_id: 'test-client', token_endpoint_auth_method: 'none', redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
  { client_id: 'rs-client', client_secret: 'rs-secret', redirect_uris: [REDIRECT] },
];
if (PROXY_REDIRECT) {
  // A client registers one token_endpoint_auth_method, but oidc-provider takes a client secret
  // either way for the two secret methods: basic (Authorization header) and post (form body)
  // both authenticate proxy-client.
  clients.push({ client_id: 'proxy-client', client_secret: 'proxy-secret', redirect_uris: [PROXY_REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic' });
}

// Auth0's knobs; standard mode keeps oidc-provider's defaults (a refresh token only for
// offline_access, which OIDC grants only with prompt=consent; PKCE for every client).
const auth0 = AUTH0 ? {
  extraParams: ['audience'],
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  // Refresh tokens outlive the browser session, as Auth0's do without offline_access too.
  expiresWithSession: async () => false,
} : {};

// OIDC_ROTATE=1: every refresh token is used once and replaced (as Auth0 with rotation on).
const rotation = process.env.OIDC_ROTATE === '1' ? { rotateRefreshToken: () => true } : {};

const provider = new Provider(ISSUER, {
  clients,
  jwks: { keys: [jwk] },
  cookies: { keys: ['test-cookie-key'] },
  scopes: ['openid', 'offline_access', ...SCOPES.split(' ')],
  pkce: { required: AUTH0 ? (ctx, client) => client.clientAuthMethod === 'none' : () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ...auth0,
  ...rotation,
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: !AUTH0 },
    registration: { enabled: !AUTH0 },
    resourceIndicators: {
      enabled: true,
      // auth0: the audience (an extra authorization parameter) is the resource indicator; at the
      // token endpoint the code's (or refresh token's) granted resource is used.
      defaultResource: AUTH0 ? (ctx, client, oneOf) => oneOf ?? (ctx.oidc.params?.audience || undefined) : () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => ({
        scope: SCOPES, audience: resource, accessTokenTTL: Number(process.env.OIDC_AT_TTL || 600), accessTokenFormat: FORMAT, jwt: { sign: { alg: 'RS256' } },
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
  const typ = new URL(req.url, 'http://test').searchParams.get('typ') || 'at+jwt'; // ?typ=JWT: a plain JWT
  const token = await new SignJWT(JSON.parse(body)).setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ }).sign(key);
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(token);
}

// auth0: a token request without its `resource` parameters. The body is read here and handed on
// as req.body, which oidc-provider takes when the stream is already consumed.
function stripResourceFromBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      form.delete('resource');
      req.body = form.toString();
      resolve();
    });
  });
}

function stripResourceFromQuery(req) {
  const url = new URL(req.url, ISSUER);
  url.searchParams.delete('resource');
  req.url = url.pathname + url.search;
}

const callback = provider.callback();
http.createServer((req, res) => {
  const fail = (e) => { res.statusCode = 500; res.end(String(e)); };
  const path = req.url.split('?')[0];
  if (req.url.startsWith('/interaction/')) approve(req, res).catch(fail);
  else if (path === '/test/sign' && req.method === 'POST') sign(req, res).catch(fail);
  else if (AUTH0 && path === '/.well-known/oauth-authorization-server') {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"not_found"}');
  } else if (AUTH0 && path === '/auth') {
    stripResourceFromQuery(req);
    callback(req, res);
  } else if (AUTH0 && path === '/token' && req.method === 'POST' && /urlencoded/i.test(req.headers['content-type'] || '')) {
    stripResourceFromBody(req).then(() => callback(req, res), fail);
  } else callback(req, res);
}).listen(PORT, '127.0.0.1', () => console.error(`issuer ${ISSUER} ready (${MODE})`));
