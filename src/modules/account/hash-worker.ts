// The password-hashing process: scrypt runs here, at a lower CPU priority than the server, so a
// flood of sign-ins takes the idle CPU and the server's event loop keeps its core. Requests and
// answers travel over the IPC channel; the process ends with its parent.
// Self-contained (no local imports): Node runs it from source with its own type stripping, or compiled.
import os from 'node:os';
import * as scryptNs from 'scrypt-kdf';

interface ScryptKdf {
  kdf(passphrase: string, params: { logN: number; r: number; p: number }): Promise<Uint8Array>;
  verify(key: Uint8Array, passphrase: string): Promise<boolean>;
}
const scrypt: ScryptKdf = (scryptNs as unknown as { default?: ScryptKdf }).default ?? (scryptNs as unknown as ScryptKdf);

export type HashJob = { id: number; op: 'kdf'; password: string; params: { logN: number; r: number; p: number } } | { id: number; op: 'verify'; password: string; stored: string };
export type HashAnswer = { id: number; ok: true; value: string | boolean } | { id: number; ok: false; error: string };

// Before any scrypt call: the libuv pool threads, created on first use, inherit this nice value.
os.setPriority(Number(process.env.SCRYPT_NICE ?? 10));

process.on('message', (job: HashJob) => {
  const work = job.op === 'kdf' ? scrypt.kdf(job.password, job.params).then((k) => Buffer.from(k).toString('base64')) : scrypt.verify(Buffer.from(job.stored, 'base64'), job.password);
  work.then(
    (value) => process.send?.({ id: job.id, ok: true, value } satisfies HashAnswer),
    (e: Error) => process.send?.({ id: job.id, ok: false, error: e.message } satisfies HashAnswer),
  );
});
process.on('disconnect', () => process.exit(0));
