// A real OpenID provider for OpenJam's tests: the certified `oidc-provider` package on 127.0.0.1,
// with one confidential client (code flow, PKCE required) and accounts whose claims the test gives.
//
// Environment:
//   OIDC_PORT            port to listen on (default 0: a free one)
//   OIDC_REDIRECT_URIS   the client's redirect URIs, comma-separated
//   OIDC_CLIENT_ID       default "openjam"
//   OIDC_CLIENT_SECRET   default "openjam-test-secret"
//   OIDC_ID_TOKEN_TTL    ID token lifetime in seconds (default 3600)
//   OIDC_ACCOUNTS        JSON: { "<account id>": { claims... } }; `sub` is the account id
//   OIDC_KEY_SEED        any text: a different value gives a different signing key (key rotation)
//
// Prints one JSON line {"issuer": "http://127.0.0.1:PORT"} once it listens. It has no login form:
// the test (or a browser) signs in by opening GET /interaction/{uid}/login?account=ID, and the page
// at GET /interaction/{uid} lists one such link per account. Consent is given at once (a grant for
// every scope and claim asked for), so the flow is: /auth → /interaction/{uid} → login link →
// /auth/{uid} → the client's redirect URI with code and state.

import http from 'node:http';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const env = process.env;
// The test may stop reading our output; that is no reason to stop serving.
process.stdout.on('error', () => {});
const accounts = JSON.parse(env.OIDC_ACCOUNTS || '{}');
const redirectUris = (env.OIDC_REDIRECT_URIS || '').split(',').map((s) => s.trim()).filter(Boolean);
if (!redirectUris.length) {
  console.error('OIDC_REDIRECT_URIS is required');
  process.exit(2);
}

// A fresh RS256 key each start, named after the seed, so a restart with another seed rotates keys.
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: `key-${env.OIDC_KEY_SEED || 'a'}`, alg: 'RS256', use: 'sig' };

let provider = null;
const server = http.createServer((req, res) => {
  if (!provider) {
    res.writeHead(503).end();
    return;
  }
  route(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(err.message || err));
  });
});

const text = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function route(req, res) {
  const url = new URL(req.url, provider.issuer);
  const login = url.pathname.match(/^\/interaction\/([^/]+)\/login$/);
  if (login && req.method === 'GET') {
    const account = url.searchParams.get('account') || '';
    if (!Object.hasOwn(accounts, account)) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`unknown account ${account}`);
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: account } }, { mergeWithLastSubmission: false });
    return;
  }
  const page = url.pathname.match(/^\/interaction\/([^/]+)$/);
  if (page && req.method === 'GET') {
    const { uid } = await provider.interactionDetails(req, res);
    const links = Object.keys(accounts)
      .map((id) => `<li><a href="/interaction/${encodeURIComponent(uid)}/login?account=${encodeURIComponent(id)}">Sign in as ${text(id)}</a></li>`)
      .join('');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test provider</title></head><body><main><h1>Test provider</h1><ul>${links}</ul></main></body></html>`);
    return;
  }
  provider.callback()(req, res);
}

server.on('clientError', (err, socket) => { console.error(`client error: ${err.code} ${err.message} ${err.rawPacket ? err.rawPacket.toString('latin1').slice(0, 400) : ''}`); socket.destroy(); });
server.listen(Number(env.OIDC_PORT || 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = new Provider(issuer, {
    clients: [{
      client_id: env.OIDC_CLIENT_ID || 'openjam',
      client_secret: env.OIDC_CLIENT_SECRET || 'openjam-test-secret',
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: ['openjam-test-cookie-key'] },
    pkce: { required: () => true },
    // Scope claims go into the ID token too (the relying party reads the ID token only).
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', 'groups', 'roles'],
      email: ['email', 'email_verified'],
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: { IdToken: Number(env.OIDC_ID_TOKEN_TTL || 3600) },
    async findAccount(ctx, id) {
      if (!Object.hasOwn(accounts, id)) return undefined;
      return { accountId: id, claims: async () => ({ ...accounts[id], sub: id }) };
    },
    // Consent without asking: a grant for everything the client asks for.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
      grant.addOIDCClaims([...ctx.oidc.requestParamClaims]);
      await grant.save();
      return grant;
    },
  });
  console.log(JSON.stringify({ issuer }));
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
