// A real OpenID Connect provider (panva's oidc-provider) for Otklik's integration tests.
// See README.md beside this file for the environment variables, the test accounts and the
// exact HTTP sequence a test client follows to log in.
//
// stdout carries exactly one line, {"issuer":"http://127.0.0.1:<port>"}, once listening;
// everything else goes to stderr. The process exits when stdin reaches EOF, or on
// SIGTERM/SIGINT.

import { generateKeyPairSync } from 'node:crypto';
import * as http from 'node:http';

// ---------------------------------------------------------------------------------------
// Keep stdout for the single JSON line: oidc-provider prints notices with console.info.
// ---------------------------------------------------------------------------------------
// Its warning about the in-memory adapter is expected here (a throwaway test provider) and
// is dropped to keep test output quiet; every other notice goes to stderr.
const writeErr = console.error.bind(console);
const EXPECTED_NOTICE = /quick start development-only in-memory adapter/;
for (const method of ['log', 'info', 'debug', 'warn', 'error']) {
  console[method] = (...args) => {
    if (args.length === 1 && typeof args[0] === 'string' && EXPECTED_NOTICE.test(args[0])) return;
    writeErr(...args);
  };
}

function fail(message) {
  process.stderr.write(`oidc test provider: ${message}\n`);
  process.exit(2);
}

function integerEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^[+-]?\d+$/.test(raw.trim())) fail(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return Number.parseInt(raw.trim(), 10);
}

const PORT = integerEnv('PORT', 0);
const CLOCK_OFFSET_SECONDS = integerEnv('CLOCK_OFFSET_SECONDS', 0);
const CLOCK_OFFSET_MS = CLOCK_OFFSET_SECONDS * 1000;
if (PORT < 0 || PORT > 65535) fail(`PORT out of range: ${PORT}`);

// ---------------------------------------------------------------------------------------
// Clock shift. Must happen BEFORE oidc-provider (and jose) are loaded, hence the dynamic
// import below. oidc-provider takes every timestamp (iat, exp, auth_time, artifact and
// session expiry, its in-memory adapter's expiry) from Date.now() through its helper
// lib/helpers/epoch_time.js; jose uses `new Date()` for its own time checks. Both are
// shifted here so the provider's whole notion of time moves consistently, and its own
// sessions and interactions keep working with the shifted clock.
// ---------------------------------------------------------------------------------------
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);

if (CLOCK_OFFSET_MS !== 0) {
  const shiftedNow = () => realNow() + CLOCK_OFFSET_MS;
  // A plain function (not a class) so `Date()` without `new` keeps working, sharing the
  // real prototype so `instanceof Date` holds for every Date, whoever made it.
  function ShiftedDate(...args) {
    if (!new.target) return new RealDate(shiftedNow()).toString();
    return Reflect.construct(RealDate, args.length === 0 ? [shiftedNow()] : args, new.target);
  }
  Object.setPrototypeOf(ShiftedDate, RealDate); // Date.UTC, Date.parse, ...
  ShiftedDate.prototype = RealDate.prototype;
  ShiftedDate.now = shiftedNow;
  globalThis.Date = ShiftedDate;
}

// Cookie expiry must stay in REAL time: the test client's cookie jar compares `expires`
// against the real clock, and a shifted one (e.g. an interaction cookie that lives one
// hour, issued with the clock two hours behind) would be dropped at once and break the
// login. So every `expires=` attribute (except the 1970 "delete" marker) is moved back by
// the offset just before the response headers go out.
function unshiftCookieExpiry(res) {
  if (CLOCK_OFFSET_MS === 0) return;
  const writeHead = res.writeHead;
  res.writeHead = function patchedWriteHead(...args) {
    let cookies = this.getHeader('set-cookie');
    if (cookies !== undefined) {
      const many = Array.isArray(cookies);
      cookies = (many ? cookies : [String(cookies)]).map((cookie) => cookie.replace(
        /;\s*expires=([^;]+)/gi,
        (whole, value) => {
          const at = RealDate.parse(value);
          if (Number.isNaN(at) || at <= 0) return whole;
          return `; expires=${new RealDate(at - CLOCK_OFFSET_MS).toUTCString()}`;
        },
      ));
      this.setHeader('set-cookie', many ? cookies : cookies[0]);
    }
    return writeHead.apply(this, args);
  };
}

const { default: Provider, interactionPolicy } = await import('oidc-provider');

// ---------------------------------------------------------------------------------------
// Test accounts. The login typed into the form is the account id and the `sub`.
// ---------------------------------------------------------------------------------------
const ACCOUNTS = {
  'verified-1': {
    name: 'Сергей Кузнецов',
    given_name: 'Сергей',
    family_name: 'Кузнецов',
    birthdate: '1980-05-17',
    address: { region: 'RU-TVE', country: 'RU' },
    snils: '112-233-445 95',
    trust_level: 'verified',
  },
  'standard-1': {
    name: 'Анна Белова',
    given_name: 'Анна',
    family_name: 'Белова',
    birthdate: '1992-11-03',
    address: { region: 'RU-NVS', country: 'RU' },
    snils: '123-456-789 64',
    trust_level: 'standard',
  },
  'unverified-1': {
    name: 'Пётр Новиков',
    given_name: 'Пётр',
    family_name: 'Новиков',
    trust_level: 'unverified',
  },
  // A different subject carrying verified-1's SNILS: the same person trying a second account.
  'twin-1': {
    name: 'Сергей Кузнецов',
    given_name: 'Сергей',
    family_name: 'Кузнецов',
    birthdate: '1980-05-17',
    address: { region: 'RU-TVE', country: 'RU' },
    snils: '112-233-445 95',
    trust_level: 'verified',
  },
};

const DEFAULT_ACCOUNT = {
  name: 'Тестовый Пользователь',
  given_name: 'Тестовый',
  family_name: 'Пользователь',
  trust_level: 'standard',
};

const LOGIN_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;

function account(accountId) {
  const profile = ACCOUNTS[accountId] ?? DEFAULT_ACCOUNT;
  return {
    accountId,
    // oidc-provider filters these down to what the granted scopes/claims allow.
    async claims() {
      return { sub: accountId, ...structuredClone(profile) };
    },
  };
}

// The default policy, less the consent check that always prompts native clients for
// consent: with loadExistingGrant below granting everything, the only interaction left is
// the login.
function interactionsPolicy() {
  const policy = interactionPolicy.base();
  policy.get('consent').checks.remove('native_client_prompt');
  return policy;
}

// ---------------------------------------------------------------------------------------
// Provider configuration.
// ---------------------------------------------------------------------------------------
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'otklik-test-rs256', alg: 'RS256', use: 'sig' };

const configuration = {
  clients: [{
    client_id: 'otklik',
    client_secret: 'otklik-test-secret',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // A native client's loopback redirect URIs match on any port (RFC 8252 section 7.3),
    // so http://127.0.0.1:<any port>/auth/oidc/callback is accepted.
    application_type: 'native',
    redirect_uris: ['http://127.0.0.1/auth/oidc/callback'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  // Both basic and post are accepted at the token endpoint: oidc-provider lets a client
  // registered for client_secret_basic also authenticate with client_secret_post.
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  jwks: { keys: [signingKey] },
  cookies: {
    // Cookies are not told apart by port, so a test client that keeps one jar for both
    // Otklik and this provider (both on 127.0.0.1) sends each one's cookies to the other:
    // distinctive names keep them from colliding.
    names: {
      session: 'test_op_session',
      interaction: 'test_op_interaction',
      resume: 'test_op_resume',
    },
    // The session cookie defaults to SameSite=None (plus a ".legacy" twin), which without
    // Secure some cookie jars refuse; Lax is enough for top-level redirects.
    long: { httpOnly: true, sameSite: 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
    keys: ['otklik-test-cookie-key-1', 'otklik-test-cookie-key-2'],
  },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'middle_name', 'birthdate'],
    address: ['address'],
    snils: ['snils'],
    trust: ['trust_level'],
  },
  // Put the claims of the granted scopes into the ID token too, not only into userinfo.
  conformIdTokenClaims: false,
  pkce: { methods: ['S256'], required: () => true },
  features: {
    devInteractions: { enabled: false },
    // Not used by the tests; off to keep the surface small.
    revocation: { enabled: false },
    introspection: { enabled: false },
  },
  interactions: {
    policy: interactionsPolicy(),
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  // No consent screen: every authorization of this (first-party) client is granted the
  // OIDC scopes and claims it asks for.
  async loadExistingGrant(ctx) {
    const { provider, client, session, account: current } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    let grant = grantId ? await provider.Grant.find(grantId) : undefined;
    if (!grant || grant.accountId !== current.accountId) {
      grant = new provider.Grant({ clientId: client.clientId, accountId: current.accountId });
    }
    const scopes = [...ctx.oidc.requestParamOIDCScopes];
    if (scopes.length > 0) grant.addOIDCScope(scopes.join(' '));
    const claims = [...ctx.oidc.requestParamClaims];
    if (claims.length > 0) grant.addOIDCClaims(claims);
    await grant.save();
    return grant;
  },
  async findAccount(ctx, id) {
    return LOGIN_PATTERN.test(id) ? account(id) : undefined;
  },
  ttl: {
    AuthorizationCode: 60,
    IdToken: 3600,
    AccessToken: 3600,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
  },
  renderError(ctx, out, error) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><meta charset="utf-8"><title>oidc error</title>
<h1>${escapeHtml(out.error)}</h1><p>${escapeHtml(out.error_description ?? '')}</p>`;
    process.stderr.write(`oidc test provider: rendered error ${out.error}: ${out.error_description ?? ''} (${error?.message ?? ''})\n`);
  },
};

function escapeHtml(text) {
  return String(text)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

// ---------------------------------------------------------------------------------------
// Server: listen first (the issuer needs the port), then build the provider.
// ---------------------------------------------------------------------------------------
let handler = (req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = http.createServer((req, res) => {
  unshiftCookieExpiry(res);
  handler(req, res);
});

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, '127.0.0.1', resolve);
});

const issuer = `http://127.0.0.1:${server.address().port}`;
const provider = new Provider(issuer, configuration);

provider.on('server_error', (ctx, error) => {
  process.stderr.write(`oidc test provider: server_error: ${error?.stack ?? error}\n`);
});

// ---------------------------------------------------------------------------------------
// The login interaction: GET shows a form (login, password), POST finishes it.
// Any non-empty login matching LOGIN_PATTERN is accepted, with any password.
// ---------------------------------------------------------------------------------------
async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function loginPage(uid, message = '') {
  return `<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><title>Test OIDC login</title></head>
<body>
<h1>Test OIDC provider</h1>
${message ? `<p role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
  <label>Login <input name="login" required autofocus></label>
  <label>Password <input name="password" type="password"></label>
  <button type="submit">Sign in</button>
</form>
</body></html>`;
}

provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(ctx.path);
  if (!match) return next();
  const [, uid, login] = match;
  ctx.set('cache-control', 'no-store');

  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (error) {
    // Typically SessionNotFound: the test_op_interaction cookie did not come back.
    process.stderr.write(`oidc test provider: ${ctx.method} ${ctx.path}: ${error.message}\n`);
    throw error;
  }
  if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');

  if (!login && ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = loginPage(uid);
    return undefined;
  }
  if (login && ctx.method === 'POST') {
    const form = await readForm(ctx.req);
    const accountId = (form.get('login') ?? '').trim();
    if (details.prompt.name !== 'login' || !LOGIN_PATTERN.test(accountId)) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = loginPage(uid, 'login must be 1-64 characters of A-Z a-z 0-9 . _ @ -');
      return undefined;
    }
    if (details.session?.accountId && details.session.accountId !== accountId) {
      // Switching accounts in a browser session that is already logged in (prompt=login):
      // oidc-provider would first detour through a JavaScript-submitted logout form. Drop
      // the old session instead, so the resume goes straight on to the callback.
      if (details.session.cookie) {
        await (await provider.Session.find(details.session.cookie))?.destroy();
      }
      details.session = undefined;
      await details.persist();
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
      login: { accountId },
    }, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return undefined;
  }
  ctx.throw(405);
  return undefined;
});

handler = provider.callback();

// ---------------------------------------------------------------------------------------
// Lifetime: report the issuer, then live until stdin closes or a signal arrives.
// ---------------------------------------------------------------------------------------
let exiting = false;
function shutdown(code = 0) {
  if (exiting) return;
  exiting = true;
  server.close();
  server.closeAllConnections?.();
  process.exit(code);
}

process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
process.stdin.on('end', () => shutdown(0));
process.stdin.on('close', () => shutdown(0));
process.stdin.on('error', () => shutdown(0));
process.stdin.resume();

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
