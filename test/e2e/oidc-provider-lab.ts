#!/usr/bin/env node
/**
 * `node oidc-provider-lab.js ISSUER CERT KEY CLIENT_ID CLIENT_SECRET REDIRECT_URI`: a real
 * OpenID Provider (the certified oidc-provider package) for the lab, run inside a namespace
 * over HTTPS. Its sign-in form takes any login (the password is not checked); the accounts
 * below say who each login is. Prints `listening` when ready.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import Provider from 'oidc-provider';

const [issuer, cert, key, clientId, clientSecret, redirectUri] = process.argv.slice(2);

/** Who each login is: alice is in `admins`, bob has a listed email, mallory is neither. */
const ACCOUNTS: Record<string, { email: string; verified: boolean; groups: string[] }> = {
  alice: { email: 'alice@example.org', verified: true, groups: ['admins'] },
  bob: { email: 'bob@example.org', verified: true, groups: [] },
  mallory: { email: 'mallory@example.org', verified: true, groups: ['guests'] },
  eve: { email: 'bob@example.org', verified: false, groups: [] },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['groups'] },
  // the claims in the ID token itself, as Keycloak, Google and Entra ID send them
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx: unknown, sub: string) {
    const a = ACCOUNTS[sub];
    if (!a) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, email: a.email, email_verified: a.verified, groups: a.groups };
      },
    };
  },
});
provider.proxy = false;

const port = Number(new URL(issuer).port || 443);
const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, provider.callback());
server.listen(port, new URL(issuer).hostname, () => process.stdout.write('listening\n'));
