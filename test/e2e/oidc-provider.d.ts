// oidc-provider ships no types; the lab uses a few of its calls.
declare module 'oidc-provider';
