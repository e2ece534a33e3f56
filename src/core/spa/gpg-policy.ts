import type { DigestType } from './digest.js';

/**
 * What a GnuPG stanza of fwknopd's access.conf accepts (the GPG_* directives), as frozen data:
 * key material is the armored text of `gpg --export-secret-keys --armor` / `gpg --export
 * --armor` (openpgp.js can't read a GnuPG keyring's private-keys-v1.d), so a plan can cross
 * to the daemon as plain data. config/ builds it; gpg-keyring.ts opens it.
 */
export interface GpgPolicy {
  /** Armored secret key(s) the packets are encrypted to (GPG_HOME_DIR/sesame-secret.asc). */
  readonly secretKeys: string;
  /** Where `secretKeys` was read from, for messages. */
  readonly secretFile: string;
  /** GPG_DECRYPT_PW; '' with GPG_ALLOW_NO_PW (a key without passphrase). */
  readonly passphrase: string;
  /** GPG_DECRYPT_ID: which key of `secretKeys` decrypts (ID, fingerprint or user ID); null: every one. */
  readonly decryptId: string | null;
  /** Armored public keys of the clients that sign (GPG_HOME_DIR/sesame-public.asc); null when signatures are not checked. */
  readonly publicKeys: string | null;
  readonly publicFile: string | null;
  /** GPG_REQUIRE_SIG (fwknopd's default once a stanza is GPG; GPG_DISABLE_SIG turns it off). */
  readonly requireSig: boolean;
  /** GPG_REMOTE_ID: 8 hex digits each, compared as fwknopd does with the signer fingerprint's last 8; null: any signer. */
  readonly remoteIds: readonly string[] | null;
  /** GPG_FINGERPRINT_ID: 40 hex digits each, the signing key's fingerprint; null: any signer. */
  readonly fingerprints: readonly string[] | null;
  /** HMAC_KEY(_BASE64) of the stanza: checked (over the base64 with `hQ`) before anything is decrypted; null: none. */
  readonly hmac: { readonly key: Uint8Array; readonly type: DigestType } | null;
}

/** fwknop's B64_GPG_PREFIX: every GnuPG packet's base64 starts so, and the client cuts it off. */
export const GPG_PREFIX_B64 = 'hQ';

/** MIN_GNUPG_MSG_SIZE: fwknopd takes a packet of at least this many characters for GnuPG, shorter for Rijndael. */
export const MIN_GPG_CHARS = 400;

/**
 * What one GnuPG decryption costs a source's budget, in HMAC checks: an RSA-2048 private-key
 * operation in openpgp.js takes ~10 ms, thousands of HMACs' worth (npm run bench: spa-gpg).
 * A stanza with an HMAC key pays one HMAC instead, as forgeries stop there.
 */
export const GPG_DECRYPT_COST = 500;
