// A strict OAuth client made of the TypeScript SDK's own machinery: StreamableHTTPClientTransport
// with an OAuthClientProvider, so discovery (RFC 9728, then RFC 8414 / OIDC), dynamic client
// registration (RFC 7591), PKCE, the code exchange, the resource indicator (RFC 8707) and the
// refresh are all the SDK's. Only the person is scripted: redirectToAuthorization walks the
// authorization URL headlessly, like a browser whose user approves whatever consent form is shown.
//
// Usage (the file must sit in $SDK_DIR so that its imports resolve):
//   node sdk-oauth-client.mjs MCP_URL TOOL ARGS_JSON
// stdout, one line:
//   {"ok":true,"tool":<callTool result>,"tokens":{"access_token":"string",...},"registration":{...},
//    "refreshed":true|false,...}
//   or {"ok":false,"stage":"...","error":"..."} with exit code 1. A trace of every hop goes to stderr.
// Strictness beyond the SDK's own: the MCP server must answer 401 first; the protected resource
// metadata's `resource` must be MCP_URL itself; the AS metadata's `issuer` must be the authorization
// server it was fetched for and must list S256 in code_challenge_methods_supported; the redirect
// must carry the `state` sent and, when it has `iss`, that issuer.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const LIMIT_MS = 45_000; // the Rust harness kills a peer after 60 s
const HOP_MS = 15_000;
let stage = 'start';
const log = (...a) => console.error('[sdk-oauth]', ...a);

function finish(code, result) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(code));
}
function fail(error) {
  finish(1, { ok: false, stage, error: String(error?.stack && process.env.SDK_OAUTH_STACK ? error.stack : error?.message ?? error) });
}
setTimeout(() => fail(new Error(`timed out after ${LIMIT_MS / 1000} s`)), LIMIT_MS);

const [mcpUrl, toolName, argsJson] = process.argv.slice(2);
if (!mcpUrl || !toolName) {
  fail(new Error('usage: node sdk-oauth-client.mjs MCP_URL TOOL ARGS_JSON'));
} else {
  main().catch(fail);
}

// ---------------------------------------------------------------- a browser's cookie jar

const isLoopback = (host) => host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
// Browsers treat loopback http as a secure context: Secure cookies are kept and sent there.
const secureContext = (url) => url.protocol === 'https:' || isLoopback(url.hostname);

class CookieJar {
  cookies = [];
  rejected = [];
  names = new Set();

  store(url, lines) {
    for (const line of lines) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const c = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), host: url.hostname,
        hostOnly: true, path: null, secure: false, expires: undefined };
      let maxAge;
      let bad;
      for (const attribute of attributes) {
        const i = attribute.indexOf('=');
        const key = (i < 0 ? attribute : attribute.slice(0, i)).trim().toLowerCase();
        const val = i < 0 ? '' : attribute.slice(i + 1).trim();
        if (key === 'path' && val.startsWith('/')) c.path = val;
        else if (key === 'secure') c.secure = true;
        else if (key === 'max-age' && /^-?\d+$/.test(val)) maxAge = Number(val);
        else if (key === 'expires' && !Number.isNaN(Date.parse(val))) c.expires ??= Date.parse(val);
        else if (key === 'domain' && val) {
          const domain = val.replace(/^\./, '').toLowerCase();
          if (domain === c.host || (c.host.endsWith(`.${domain}`) && !/^[\d.]+$/.test(c.host))) {
            c.hostOnly = false;
            c.host = domain;
          } else bad = `Domain=${val} does not cover ${url.hostname}`;
        }
      }
      if (maxAge !== undefined) c.expires = Date.now() + maxAge * 1000;
      if (c.path === null) {
        const p = url.pathname;
        c.path = p.lastIndexOf('/') > 0 ? p.slice(0, p.lastIndexOf('/')) : '/';
      }
      if (c.secure && !secureContext(url)) bad = 'Secure from an insecure origin';
      if (c.name.startsWith('__Secure-') && !c.secure) bad = '__Secure- without Secure';
      if (c.name.startsWith('__Host-') && (!c.secure || !c.hostOnly || c.path !== '/')) bad = '__Host- needs Secure, Path=/ and no Domain';
      if (bad) {
        this.rejected.push(`${c.name}: ${bad}`);
        log(`cookie rejected: ${c.name} (${bad})`);
        continue;
      }
      this.cookies = this.cookies.filter((o) => !(o.name === c.name && o.host === c.host && o.path === c.path));
      if (c.expires === undefined || c.expires > Date.now()) {
        this.cookies.push(c);
        this.names.add(c.name);
      }
    }
  }

  header(url) {
    const now = Date.now();
    const host = url.hostname;
    const pathMatch = (path) => url.pathname === path || url.pathname.startsWith(path.endsWith('/') ? path : `${path}/`);
    return this.cookies
      .filter((c) => (c.expires === undefined || c.expires > now)
        && (c.hostOnly ? host === c.host : host === c.host || host.endsWith(`.${c.host}`))
        && pathMatch(c.path)
        && (!c.secure || secureContext(url)))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

// ---------------------------------------------------------------- HTML forms, as a person sees them

const decodeEntities = (s) => s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (m, e) => {
  const k = e.toLowerCase();
  if (k.startsWith('#x')) return String.fromCodePoint(parseInt(k.slice(2), 16));
  if (k.startsWith('#')) return String.fromCodePoint(Number(k.slice(1)));
  return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[k];
});

function attributes(tag) {
  const out = {};
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const m of tag.matchAll(re)) out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  return out;
}

const stripTags = (html) => decodeEntities(html.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
const APPROVE = /approve|allow|accept|authori[sz]e|consent|grant|confirm|continue|yes/i;
const DENY = /deny|reject|decline|refuse|cancel|\bno\b/i;

// Every form of the page: its fields (what submitting sends, in document order, without
// buttons) and its submit controls.
function parseForms(html) {
  const forms = [];
  for (const f of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi)) {
    const form = attributes(f[1]);
    const fields = [];
    const controls = [];
    const re = /<(input)\b([^>]*)>|<(button)\b([^>]*)>([\s\S]*?)<\/button\s*>|<(textarea)\b([^>]*)>([\s\S]*?)<\/textarea\s*>|<(select)\b([^>]*)>([\s\S]*?)<\/select\s*>/gi;
    for (const m of f[2].matchAll(re)) {
      if (m[1]) {
        const a = attributes(m[2]);
        const type = (a.type || 'text').toLowerCase();
        if ('disabled' in a) continue;
        if (type === 'submit' || type === 'image') controls.push({ name: a.name, value: a.value ?? '', label: a.value ?? '', attrs: a });
        else if (type === 'button' || type === 'reset' || type === 'file') continue;
        else if ((type === 'checkbox' || type === 'radio') && !('checked' in a)) continue;
        else if (a.name) fields.push([a.name, a.value ?? (type === 'checkbox' || type === 'radio' ? 'on' : '')]);
      } else if (m[3]) {
        const a = attributes(m[4]);
        const type = (a.type || 'submit').toLowerCase();
        if (type === 'submit' && !('disabled' in a)) controls.push({ name: a.name, value: a.value ?? '', label: stripTags(m[5]), attrs: a });
      } else if (m[6]) {
        const a = attributes(m[7]);
        if (a.name && !('disabled' in a)) fields.push([a.name, decodeEntities(m[8])]);
      } else if (m[9]) {
        const a = attributes(m[10]);
        if (!a.name || 'disabled' in a) continue;
        const options = [...m[11].matchAll(/<option\b([^>]*)>([^<]*)/gi)].map((o) => ({ a: attributes(o[1]), text: decodeEntities(o[2]).trim() }));
        const chosen = options.find((o) => 'selected' in o.a) ?? options[0];
        if (chosen) fields.push([a.name, chosen.a.value ?? chosen.text]);
      }
    }
    const said = (c) => `${c.name ?? ''} ${c.value} ${c.label}`;
    const approve = controls.find((c) => APPROVE.test(said(c)) && !DENY.test(said(c)))
      ?? controls.find((c) => !DENY.test(said(c)));
    forms.push({ form, fields, controls, approve });
  }
  return forms;
}

// ---------------------------------------------------------------- the headless user agent

// Walks from `start` until a redirect to `redirectUri`; returns that URL and what it saw.
async function browse(start, redirectUri) {
  const jar = new CookieJar();
  try {
    return await walk(start, redirectUri, jar);
  } catch (e) {
    if (jar.rejected.length) e.message += ` (cookies refused: ${jar.rejected.join('; ')})`;
    throw e;
  }
}

async function walk(start, redirectUri, jar) {
  const seen = { hops: 0, forms: [] };
  let req = { url: new URL(start), method: 'GET', body: undefined, from: undefined };
  for (; seen.hops < 30; seen.hops++) {
    const headers = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8', 'upgrade-insecure-requests': '1',
      'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
    headers['sec-fetch-site'] = !req.from ? 'none'
      : req.from.origin === req.url.origin ? 'same-origin'
        : req.from.protocol === req.url.protocol && req.from.hostname === req.url.hostname ? 'same-site' : 'cross-site';
    if (req.from) headers.referer = req.from.origin === req.url.origin ? req.from.href.split('#')[0] : `${req.from.origin}/`;
    const cookie = jar.header(req.url);
    if (cookie) headers.cookie = cookie;
    if (req.method === 'POST') {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = req.from ? req.from.origin : 'null';
    }
    const res = await fetch(req.url, { method: req.method, headers, body: req.body, redirect: 'manual', signal: AbortSignal.timeout(HOP_MS) });
    jar.store(req.url, res.headers.getSetCookie());
    const location = res.headers.get('location');
    log(`${req.method} ${req.url.href} -> ${res.status}${location ? ` ${location}` : ''}`);
    if ([301, 302, 303, 307, 308].includes(res.status)) {
      await res.body?.cancel();
      if (!location) throw new Error(`HTTP ${res.status} without Location from ${req.url.href}`);
      const next = new URL(location, req.url);
      if (next.href.startsWith(redirectUri)) return { url: next, seen, jar };
      const keep = res.status === 307 || res.status === 308;
      req = { url: next, method: keep ? req.method : 'GET', body: keep ? req.body : undefined, from: req.url };
      continue;
    }
    const type = res.headers.get('content-type') || '';
    const text = await res.text();
    if (res.status !== 200 || !/text\/html|application\/xhtml/i.test(type)) {
      throw new Error(`authorization stopped at ${req.method} ${req.url.href}: HTTP ${res.status} ${type} ${stripTags(text).slice(0, 300)}`);
    }
    const forms = parseForms(text);
    const chosen = forms.find((f) => f.approve) ?? forms.find((f) => f.controls.length === 0);
    if (!chosen) {
      const why = forms.length ? 'only forms without an approving button' : 'no form';
      throw new Error(`a page with ${why} at ${req.url.href}: ${stripTags(text).slice(0, 300)}`);
    }
    const fields = [...chosen.fields];
    const button = chosen.approve;
    if (button?.name) fields.push([button.name, button.value]);
    const action = new URL(button?.attrs.formaction ?? chosen.form.action ?? '', req.url);
    action.hash = '';
    const method = (button?.attrs.formmethod ?? chosen.form.method ?? 'get').toLowerCase();
    seen.forms.push({ page: req.url.href, action: action.href, method, fields: fields.map(([k]) => k),
      button: button ? { name: button.name ?? null, value: button.value, label: button.label } : null });
    log(`form at ${req.url.href}: ${method.toUpperCase()} ${action.href} with ${fields.map(([k]) => k).join(', ')}`);
    const body = new URLSearchParams(fields).toString();
    if (method === 'post') {
      // response_mode=form_post lands here: the fields are the authorization response.
      if (action.href.startsWith(redirectUri)) return { url: new URL(`${action.href.split('?')[0]}?${body}`), seen, jar };
      req = { url: action, method: 'POST', body, from: req.url };
    } else {
      action.search = body;
      if (action.href.startsWith(redirectUri)) return { url: action, seen, jar };
      req = { url: action, method: 'GET', body: undefined, from: req.url };
    }
  }
  throw new Error(`no redirect to ${redirectUri} after ${seen.hops} hops`);
}

// ---------------------------------------------------------------- the SDK's side

const sameIssuer = (a, b) => a === b || a === `${b}/` || b === `${a}/`;

class HeadlessProvider {
  constructor(redirectUrl) {
    this._redirectUrl = redirectUrl;
    this.phase = 'authorize';
    this.invalidated = [];
    this.tokenSaves = 0;
  }

  get redirectUrl() { return this._redirectUrl; }

  get clientMetadata() {
    return {
      client_name: 'apimcp strict SDK test',
      redirect_uris: [this._redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    this.sentState = randomBytes(16).toString('base64url');
    return this.sentState;
  }

  clientInformation() { return this.client; }
  saveClientInformation(info) { this.client = info; }
  tokens() { return this.saved; }
  saveTokens(tokens) { this.saved = tokens; this.tokenSaves++; }
  saveCodeVerifier(v) { this.verifier = v; }
  codeVerifier() {
    if (!this.verifier) throw new Error('no code verifier saved');
    return this.verifier;
  }

  invalidateCredentials(scope) {
    this.invalidated.push(scope);
    log(`SDK invalidated credentials: ${scope}`);
    if (scope === 'all' || scope === 'client') this.client = undefined;
    if (scope === 'all' || scope === 'tokens') this.saved = undefined;
    if (scope === 'all' || scope === 'verifier') this.verifier = undefined;
  }

  // Called by auth() after every discovery; no discoveryState(), so each auth() discovers anew.
  saveDiscoveryState(state) {
    const { authorizationServerUrl: as, authorizationServerMetadata: md, resourceMetadata: prm } = state;
    if (!prm) throw new Error(`no protected resource metadata for ${mcpUrl}`);
    if (prm.resource !== mcpUrl) throw new Error(`protected resource metadata names resource ${prm.resource}, not ${mcpUrl}`);
    if (!prm.authorization_servers?.length) throw new Error('protected resource metadata names no authorization_servers');
    if (!md) throw new Error(`no authorization server metadata for ${as}`);
    if (!sameIssuer(md.issuer, as)) throw new Error(`AS metadata issuer ${md.issuer} is not ${as}, where it was fetched`);
    if (!md.code_challenge_methods_supported?.includes('S256')) throw new Error('AS metadata does not list S256 in code_challenge_methods_supported');
    this.discovery = { authorization_server: as, issuer: md.issuer, resource: prm.resource,
      authorization_endpoint: md.authorization_endpoint, token_endpoint: md.token_endpoint,
      registration_endpoint: md.registration_endpoint ?? null };
  }

  async redirectToAuthorization(url) {
    if (this.phase === 'refresh') throw new Error(`the refresh failed: the SDK dropped its credentials (${this.invalidated.join(', ') || 'none'}) and started a new authorization`);
    if (this.phase !== 'authorize') throw new Error(`the SDK started a new authorization during ${this.phase} (${url.href})`);
    stage = 'authorize';
    log(`authorization URL ${url.href}`);
    this.authorizationParams = Object.fromEntries(url.searchParams);
    const walked = await browse(url.href, this._redirectUrl);
    this.browser = { hops: walked.seen.hops + 1, forms: walked.seen.forms, cookies: [...walked.jar.names],
      rejected_cookies: walked.jar.rejected };
    const got = walked.url.searchParams;
    if (got.get('error')) throw new Error(`authorization error ${got.get('error')}: ${got.get('error_description') ?? ''}`);
    if (got.get('state') !== this.sentState) throw new Error(`state ${got.get('state')} is not the one sent (${this.sentState})`);
    if (got.has('iss') && got.get('iss') !== this.discovery?.issuer) throw new Error(`iss ${got.get('iss')} is not the issuer ${this.discovery?.issuer}`);
    if (!got.get('code')) throw new Error(`no code in ${walked.url.href}`);
    this.callback = { params: [...got.keys()], iss: got.get('iss') };
    this.code = got.get('code');
  }
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const shape = (obj) => obj && Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, Array.isArray(v) ? 'array' : typeof v]));

async function main() {
  const args = JSON.parse(argsJson || '{}');
  const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  const provider = new HeadlessProvider(redirectUri);
  const seen = { challenge: undefined, tokenResponses: [], refusedIn: [] };
  // Every request the SDK makes: traced, the first 401's challenge, the stages that met a 401 and
  // the token responses kept.
  const tracedFetch = async (input, init) => {
    const res = await fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : input).href;
    log(`SDK ${init?.method ?? 'GET'} ${url} -> ${res.status}`);
    if (res.status === 401 && url === new URL(mcpUrl).href) {
      seen.challenge ??= res.headers.get('www-authenticate');
      seen.refusedIn.push(stage);
    }
    if (provider.discovery && url === new URL(provider.discovery.token_endpoint).href) {
      seen.tokenResponses.push({ status: res.status, body: await res.clone().json().catch(() => null) });
    }
    return res;
  };
  const connect = async () => {
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: tracedFetch });
    const client = new Client({ name: 'apimcp-sdk-oauth-test', version: '1.0.0' });
    await client.connect(transport);
    return { client, transport };
  };

  stage = 'connect';
  const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: tracedFetch });
  try {
    await new Client({ name: 'apimcp-sdk-oauth-test', version: '1.0.0' }).connect(first);
    throw new Error('the MCP server let an unauthenticated client connect');
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
  }
  if (!seen.challenge) throw new Error('no WWW-Authenticate on the 401');
  if (!/^Bearer\b/i.test(seen.challenge) || !/resource_metadata=/.test(seen.challenge)) {
    throw new Error(`the 401's challenge has no Bearer resource_metadata: ${seen.challenge}`);
  }
  if (!provider.code) throw new Error('the SDK did not send the user to authorize');

  stage = 'finishAuth';
  await first.finishAuth(provider.code);
  const tokenResponse = seen.tokenResponses.at(-1);
  if (!provider.saved?.access_token) throw new Error('no access token saved');

  // From here on a 401 would make the SDK refresh or authorize again, silently: both are failures.
  stage = 'call';
  provider.phase = 'call';
  const { client } = await connect();
  const tool = await client.callTool({ name: toolName, arguments: args });
  await client.close();
  if (seen.refusedIn.includes('call')) throw new Error('the MCP server refused the access token from the code exchange (401)');

  stage = 'refresh';
  let refreshed = false;
  const extra = {};
  if (provider.saved.refresh_token) {
    const before = provider.saved.access_token;
    const saves = provider.tokenSaves;
    provider.phase = 'refresh';
    try {
      const resourceMetadataUrl = /resource_metadata="([^"]+)"/.exec(seen.challenge)?.[1];
      const result = await auth(provider, { serverUrl: new URL(mcpUrl), resourceMetadataUrl: resourceMetadataUrl && new URL(resourceMetadataUrl), fetchFn: tracedFetch });
      refreshed = result === 'AUTHORIZED' && provider.tokenSaves > saves && provider.saved.access_token !== before;
      extra.refresh_tokens = shape(seen.tokenResponses.at(-1)?.body);
      if (refreshed) {
        stage = 'after-refresh';
        provider.phase = 'after-refresh';
        const again = await connect();
        await again.client.listTools();
        await again.client.close();
        extra.refreshed_token_works = !seen.refusedIn.includes('after-refresh');
      }
    } catch (e) {
      extra.refresh_error = String(e?.message ?? e);
    }
  }

  const registration = provider.client && { ...provider.client };
  if (registration) {
    registration.client_secret_present = 'client_secret' in registration;
    if (registration.client_secret_present) registration.client_secret = '(present, not shown)';
  }
  finish(0, {
    ok: true,
    tool,
    tokens: shape(tokenResponse?.body),
    tokens_issuer: provider.saved?.issuer,
    registration,
    refreshed,
    ...extra,
    challenge: seen.challenge,
    discovery: provider.discovery,
    authorization_request: provider.authorizationParams && Object.keys(provider.authorizationParams),
    resource_sent: provider.authorizationParams?.resource ?? null,
    callback: provider.callback,
    browser: provider.browser,
    invalidated: provider.invalidated,
  });
}
