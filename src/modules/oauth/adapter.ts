// oidc-provider's storage on MikroORM: one table (oauth_records) keyed by model + id, plain SQL on
// the root connection (the provider runs outside the request's ORM context). Works the same on
// PostgreSQL and the embedded PGlite.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Adapter, AdapterPayload } from 'oidc-provider';

// Models whose records hang off a grant: revoking the grant removes them all at once.
const GRANTABLE = new Set(['GrantOrganization', 'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);

// PostgreSQL text and jsonb cannot hold U+0000: no stored record has one, so a lookup by such a
// value (a client_id, token or uid the client sent) finds nothing instead of failing in the driver.
const NUL = '\u0000';
const storable = (...values: string[]) => values.every((v) => typeof v !== 'string' || !v.includes(NUL));

type Row = { payload: AdapterPayload | string; consumed_at: Date | string | null; expires_at: Date | string | null };

export class OAuthStore {
  constructor(private readonly root: EntityManager) {}

  private exec<T>(sql: string, params: unknown[]): Promise<T> {
    return this.root.getConnection().execute(sql, params) as Promise<T>;
  }

  adapter(model: string): Adapter {
    return new RecordAdapter(model, this);
  }

  async upsert(model: string, id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
    await this.exec(
      `insert into oauth_records (model, id, payload, grant_id, user_code, uid, expires_at) values (?, ?, ?::jsonb, ?, ?, ?, ?)
       on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
      [
        model,
        id,
        JSON.stringify(payload),
        GRANTABLE.has(model) || model === 'Grant' ? (payload.grantId ?? (model === 'Grant' ? id : null)) : null,
        payload.userCode ?? null,
        payload.uid ?? null,
        expiresAt,
      ],
    );
  }

  async find(model: string, where: 'id' | 'user_code' | 'uid', value: string): Promise<AdapterPayload | undefined> {
    if (!storable(value)) return undefined;
    const rows = await this.exec<Row[]>(`select payload, consumed_at, expires_at from oauth_records where model = ? and ${where} = ? limit 1`, [model, value]);
    const r = rows[0];
    if (!r) return undefined;
    if (r.expires_at && new Date(r.expires_at).getTime() <= Date.now()) return undefined;
    const payload = (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as AdapterPayload;
    return r.consumed_at ? { ...payload, consumed: Math.floor(new Date(r.consumed_at).getTime() / 1000) } : payload;
  }

  async consume(model: string, id: string): Promise<void> {
    if (!storable(id)) return;
    await this.exec('update oauth_records set consumed_at = now() where model = ? and id = ?', [model, id]);
  }

  async destroy(model: string, id: string): Promise<void> {
    if (!storable(id)) return;
    await this.exec('delete from oauth_records where model = ? and id = ?', [model, id]);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    if (!storable(grantId)) return;
    await this.exec('delete from oauth_records where grant_id = ?', [grantId]);
  }

  /** Everything issued to a client (grants, codes, refresh tokens, sessions' records of it). */
  async destroyOfClient(clientId: string): Promise<void> {
    if (!storable(clientId)) return;
    await this.exec(`delete from oauth_records where model <> 'Client' and payload->>'clientId' = ?`, [clientId]);
  }

  /** Rows of a model whose payload field equals a value (clients of an organization, grants of a user). */
  async findByPayload(model: string, field: 'organization_id' | 'accountId', value: string): Promise<{ id: string; payload: AdapterPayload }[]> {
    if (!storable(value)) return [];
    const rows = await this.exec<{ id: string; payload: AdapterPayload | string }[]>(
      `select id, payload from oauth_records where model = ? and payload->>'${field}' = ? and (expires_at is null or expires_at > now()) order by id`,
      [model, value],
    );
    return rows.map((r) => ({ id: r.id, payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload }));
  }

  /** Expired rows are dead weight: removed now and then (the provider never reads them back). */
  async sweep(): Promise<void> {
    await this.exec('delete from oauth_records where expires_at < now()', []);
  }
}

class RecordAdapter implements Adapter {
  constructor(
    private readonly model: string,
    private readonly store: OAuthStore,
  ) {}
  upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
    return this.store.upsert(this.model, id, payload, expiresIn);
  }
  find(id: string) {
    return this.store.find(this.model, 'id', id);
  }
  findByUserCode(userCode: string) {
    return this.store.find(this.model, 'user_code', userCode);
  }
  findByUid(uid: string) {
    return this.store.find(this.model, 'uid', uid);
  }
  consume(id: string) {
    return this.store.consume(this.model, id);
  }
  destroy(id: string) {
    return this.store.destroy(this.model, id);
  }
  revokeByGrantId(grantId: string) {
    return this.store.revokeByGrantId(grantId);
  }
}
