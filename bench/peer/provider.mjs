// The peer for bench/peer.sh: panva's oidc-provider (the certified OpenID provider library) with
// its in-memory adapter (unbounded, below), an RS256 key, refresh-token rotation and client credentials on, and one
// confidential client. Before listening it seeds N grants, each with an authorization code and a
// refresh token, written to $GRANTS_OUT in bench/tokens.lua's format ("client secret", then
// "code refresh" lines), so both servers spend the same kind of seeded credential per request.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

// The library's own memory adapter over a plain map: its default store is an LRU of 1,000 entries,
// which forgets the seeded grants (and any grant, under load). Entries go when they expire.
class Store {
  constructor() { this.m = new Map(); }
  get(k) {
    const e = this.m.get(k);
    if (e && e.exp <= Date.now()) { this.m.delete(k); return undefined; }
    return e?.v;
  }
  set(k, v, o) { this.m.set(k, { v, exp: o?.maxAge ? Date.now() + o.maxAge : Infinity }); }
  delete(k) { this.m.delete(k); }
}
const store = new Store();

const port = Number(process.env.PORT || 18190);
const n = Number(process.env.GRANTS || 1000);
const secret = 'peer-bench-secret-peer-bench-secret-0123';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
const day = 24 * 3600;
const provider = new Provider(`http://localhost:${port}`, {
  clients: [{
    client_id: 'bench', client_secret: secret, redirect_uris: ['http://127.0.0.1:9/cb'],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic', scope: 'openid profile offline_access api',
  }],
  adapter: (model) => new MemoryAdapter(model, store),
  jwks: { keys: [jwk] },
  features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
  rotateRefreshToken: true,
  issueRefreshToken: async () => true,
  scopes: ['openid', 'profile', 'offline_access', 'api'],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'updated_at'] },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, name: `User ${id}`, preferred_username: id, updated_at: 0 }),
  }),
  ttl: { AccessToken: 3600, IdToken: 3600, AuthorizationCode: 3600, ClientCredentials: 3600, RefreshToken: 30 * day,
    Grant: 30 * day, Session: 30 * day },
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

const client = await provider.Client.find('bench');
const now = Math.floor(Date.now() / 1000);
const scope = 'openid profile offline_access';
const lines = [`bench ${secret}`];
for (let i = 0; i < n; i++) {
  const accountId = `u${i % 1000}`;
  const grant = new provider.Grant({ accountId, clientId: 'bench' });
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  const code = await new provider.AuthorizationCode({
    accountId, client, grantId, scope, redirectUri: 'http://127.0.0.1:9/cb', authTime: now, acr: 'urn:bench:pwd',
  }).save();
  const refresh = await new provider.RefreshToken({
    accountId, client, grantId, scope, gty: 'authorization_code', authTime: now, iiat: now, rotations: 0,
  }).save();
  lines.push(`${code} ${refresh}`);
}
writeFileSync(process.env.GRANTS_OUT, lines.join('\n') + '\n');
provider.listen(port, '127.0.0.1', () => console.log(`ready on ${port}`));
