// A real OpenID Connect provider for the single sign-on browser test
// (tests/web/test_oidc_real_provider.py): oidc-provider (OpenID Certified), not a mock.
//
//   node server.js --port 5100 --issuer http://localhost:5100 \
//     --client-id integrity-audit --redirect-uri http://127.0.0.1:8000/login/oidc/callback
//   (the client secret comes from the environment: IDP_CLIENT_SECRET)
//
// One confidential client (client_secret_basic, authorization code only, PKCE S256 required),
// a signing key made at start-up, in-memory storage, and two accounts with passwords (ACCOUNTS).
// The sign-in and consent pages are served by this process through the provider's interaction API
// (interactionDetails / interactionFinished): the login page checks the password, the consent page
// grants the scopes asked for. The provider keeps to OIDC Core 5.4 (conformIdTokenClaims): profile
// and email claims come from the UserInfo endpoint, not in the ID token.
// Prints "listening <issuer>" once it accepts connections; stops on SIGTERM / SIGINT.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    issuer: { type: 'string' },
    'client-id': { type: 'string', default: process.env.IDP_CLIENT_ID || 'integrity-audit' },
    'redirect-uri': { type: 'string', default: process.env.IDP_REDIRECT_URI },
  },
});
const port = Number(args.port || process.env.IDP_PORT || 0);
const issuer = args.issuer || process.env.IDP_ISSUER || `http://localhost:${port}`;
const secret = process.env.IDP_CLIENT_SECRET;
if (!port || !args['redirect-uri'] || !secret) {
  console.error('usage: IDP_CLIENT_SECRET=... node server.js --port N --redirect-uri URL [--issuer URL] [--client-id ID]');
  process.exit(2);
}

// The people this provider knows. "rob" has an account in the app's test store; "stranger" has none.
const ACCOUNTS = {
  rob: { password: 'rob-at-the-idp', claims: { name: 'Rob Reviewer', preferred_username: 'rob', email: 'rob@police.example', email_verified: true } },
  stranger: { password: 'stranger-at-the-idp', claims: { name: 'A Stranger', preferred_username: 'stranger', email: 'stranger@elsewhere.example', email_verified: true } },
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: args['client-id'],
    client_secret: secret,
    redirect_uris: [args['redirect-uri']],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 300, IdToken: 300 },
  pkce: { methods: ['S256'], required: () => true },
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const account = ACCOUNTS[sub];
    return account && { accountId: sub, async claims() { return { sub, ...account.claims }; } };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<h1>Error</h1><p id="error">${escape(out.error)}: ${escape(out.error_description || '')}</p>`);
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)} - test provider</title>
<link rel="icon" href="data:,"></head><body>${body}</body></html>`;
}

function loginPage(uid, error = '') {
  return page('Sign in', `<h1>Sign in to the test provider</h1>
${error ? `<p id="error">${escape(error)}</p>` : ''}
<form id="login" method="post" action="/interaction/${uid}/login">
<label>User name <input name="username" autocomplete="username" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>
<form method="post" action="/interaction/${uid}/abort"><button id="cancel" type="submit">Cancel</button></form>`);
}

function consentPage(uid, clientId, scopes) {
  return page('Authorize', `<h1>Allow ${escape(clientId)} to know who you are?</h1>
<p>It asks for: <span id="scopes">${escape(scopes.join(' '))}</span></p>
<form id="consent" method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>
<form method="post" action="/interaction/${uid}/abort"><button id="deny" type="submit">Deny</button></form>`);
}

async function form(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function send(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

// The interaction pages; everything else is the provider's.
async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Error', '<p id="error">interaction mismatch</p>'));
  const { prompt, params, session } = details;
  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') return send(res, 200, loginPage(uid));
    if (prompt.name === 'consent') {
      const scopes = [...(prompt.details.missingOIDCScope || []), ...(prompt.details.missingOIDCClaims || [])];
      return send(res, 200, consentPage(uid, params.client_id, scopes));
    }
    return send(res, 501, page('Error', `<p id="error">prompt ${escape(prompt.name)} not implemented</p>`));
  }
  if (req.method !== 'POST') return send(res, 405, page('Error', '<p id="error">method not allowed</p>'));
  const fields = await form(req);
  if (action === 'login' && prompt.name === 'login') {
    const username = fields.get('username') || '';
    const account = Object.hasOwn(ACCOUNTS, username) ? ACCOUNTS[username] : undefined;
    if (!account || account.password !== fields.get('password')) {
      return send(res, 200, loginPage(uid, 'Wrong user name or password.'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
  }
  if (action === 'confirm' && prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }
  return send(res, 400, page('Error', '<p id="error">unexpected step</p>'));
}

const handle = provider.callback();
const server = createServer(async (req, res) => {
  const m = /^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/.exec(new URL(req.url, issuer).pathname);
  if (!m) return handle(req, res);
  try {
    return await interaction(req, res, m[1], m[2]);
  } catch (err) {
    console.error('interaction failed:', err);
    if (!res.headersSent) send(res, 400, page('Error', `<p id="error">${escape(err.message)}</p>`));
    else res.end();
  }
});

server.listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
