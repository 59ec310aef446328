// scrypt-kdf, typed: its 4.0 declarations do not describe the ESM default export.
import * as scryptNs from 'scrypt-kdf';

interface ScryptKdf {
  kdf(passphrase: string, params: { logN: number; r: number; p: number }): Promise<Uint8Array>;
  verify(key: Uint8Array, passphrase: string): Promise<boolean>;
  viewParams(key: Uint8Array): { logN: number; r: number; p: number };
}

export const scrypt: ScryptKdf = (scryptNs as unknown as { default?: ScryptKdf }).default ?? (scryptNs as unknown as ScryptKdf);
