// A real OpenID Connect provider on loopback for pesquisa's tests: `oidc-provider`
// (OpenID-certified), pinned by package-lock.json beside this file.
//
// Environment:
//   OIDC_PORT            port to listen on (0 or unset: any free one)
//   OIDC_CLIENT_ID       the test client's id       (default pesquisa-test)
//   OIDC_CLIENT_SECRET   and secret                 (default pesquisa-test-secret)
//   OIDC_REDIRECT_URIS   its redirect URIs, comma-separated
//
//   OIDC_KEEP_RUNNING=1  do not stop when stdin closes (tests/browser/run.sh)
//
// Prints "listening http://127.0.0.1:PORT" once ready; stops on SIGTERM or when stdin
// closes (so a test that dies takes its provider with it).
//
// Accounts: any login is accepted with any password; the login is both the subject
// (sub) and the e-mail address. An address starting with "naoverificado" has
// email_verified = false; given_name and family_name come from the part before "@"
// ("ana.souza@…" → Ana Souza).
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT || 0);
const clientId = process.env.OIDC_CLIENT_ID || 'pesquisa-test';
const clientSecret = process.env.OIDC_CLIENT_SECRET || 'pesquisa-test-secret';
const redirectUris = (process.env.OIDC_REDIRECT_URIS || 'http://127.0.0.1/auth/test/callback')
  .split(',')
  .filter(Boolean);

const cap = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

function claimsOf(login) {
  const local = login.split('@')[0];
  const [given, family] = local.split('.');
  return {
    sub: login,
    email: login,
    email_verified: !login.startsWith('naoverificado'),
    given_name: cap(given),
    family_name: cap(family || 'Teste'),
  };
}

const server = await new Promise((resolve) => {
  // Listen first: the issuer must name the real port.
  import('node:http').then(({ createServer }) => {
    const s = createServer();
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  // Like Google: the e-mail and name claims are in the ID token itself.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['given_name', 'family_name'],
  },
  pkce: { required: () => true },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return claimsOf(id);
      },
    };
  },
  // The test client is first-party: no consent screen, only the log-in form.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  features: { devInteractions: { enabled: true } },
});
provider.proxy = false;
server.on('request', provider.callback());
server.on('clientError', (err, socket) => {
  console.error(`client error: ${err.code} ${err.rawPacket ? err.rawPacket.toString() : ''}`);
  socket.destroy();
});

// The test reads the first line only and may close the pipe: later output is dropped.
process.stdout.on('error', () => {});
console.log(`listening ${issuer}`);

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.env.OIDC_KEEP_RUNNING !== '1') {
  process.stdin.on('end', stop);
  process.stdin.resume();
}
