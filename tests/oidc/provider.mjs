// A real OpenID provider for the sign-in tests: the certified `oidc-provider` package on a
// loopback port, with one confidential client and users read from a JSON file.
//
//   node tests/oidc/provider.mjs CONFIG.json
//
// CONFIG: {"port": 0, "issuer": "http://127.0.0.1:PORT", "users_file": "...",
//          "client": {"client_id", "client_secret", "redirect_uris": [], "post_logout_redirect_uris": []}}
// USERS FILE: {"<login>": {"password": "...", "claims": {"email": ..., "groups": [...]}}},
// read again at every sign-in and every claims lookup, so a test changes a user's groups
// between two sign-ins by rewriting it. Only the standard library and oidc-provider: the
// pages are our own (the package's development pages load web fonts from the internet).
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const users = () => JSON.parse(readFileSync(config.users_file, 'utf8'));

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>${escape(title)}</title></head><body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' };

const provider = new Provider(config.issuer, {
  clients: [{
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...config.client,
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['oidc-test-cookie-key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  async findAccount(ctx, id) {
    const user = users()[id];
    if (!user) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...user.claims }) };
  },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out of the test provider?', `${form}
          <button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
          <button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<p>You are signed out of the test provider.</p>');
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: {
    AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600,
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Provider error', `<p id="error">${escape(out.error)}: ${escape(out.error_description)}</p>`);
  },
});

const loginForm = (uid, error = '') => page('Sign in to the test provider', `
  ${error ? `<p role="alert">${escape(error)}</p>` : ''}
  <form method="post" action="/interaction/${escape(uid)}">
    <label>Login <input name="login" autocomplete="username"></label>
    <label>Password <input name="password" type="password" autocomplete="current-password"></label>
    <button type="submit">Continue</button>
  </form>`);

const readBody = (req) => new Promise((resolve, reject) => {
  let data = '';
  req.on('data', (chunk) => { data += chunk; });
  req.on('end', () => resolve(new URLSearchParams(data)));
  req.on('error', reject);
});

// Sign-in and consent in one step: the user proves who they are and the test client (first
// party) is granted what it asked for, as a company's own provider does for its own apps.
async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginForm(uid));
    return;
  }
  const form = await readBody(req);
  const login = form.get('login');
  const user = users()[login];
  if (!user || user.password !== form.get('password')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginForm(uid, 'Wrong login or password.'));
    return;
  }
  const grant = new provider.Grant({ accountId: login, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId: login }, consent: { grantId } }, {
    mergeWithLastSubmission: false,
  });
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const match = /^\/interaction\/([^/?]+)/.exec(req.url);
  if (!match) {
    callback(req, res);
    return;
  }
  interaction(req, res, match[1]).catch((error) => {
    res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page('Provider error', `<p id="error">${escape(error.message)}</p>`));
  });
});
server.listen(config.port, '127.0.0.1', () => {
  console.log(`listening on ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
