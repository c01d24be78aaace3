import { type Kysely, sql } from 'kysely';
import type { RecipientRow, Tables } from '../db/schema.ts';
import { emailKey, type RecipientInput } from './validation.ts';

export interface Recipient {
  id: number;
  name: string;
  email: string;
  createdAt: string;
}

export interface RecipientPage {
  total: number;
  items: Recipient[];
}

export const MAX_PAGE_SIZE = 200;

function toRecipient(row: Pick<RecipientRow, 'id' | 'name' | 'email' | 'created_at'>): Recipient {
  return { id: row.id, name: row.name, email: row.email, createdAt: row.created_at };
}

/** LIKE pattern matching `q` literally: % and _ typed by a user are not wildcards. */
function containsPattern(q: string): string {
  return `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * How many recipients are stored: kept by triggers (migration 003), so no
 * scan. Takes a transaction too, to read the count within it.
 */
export async function countRecipients(db: Kysely<Tables>): Promise<number> {
  const row = await db.selectFrom('row_counts').select('row_count').where('table_name', '=', 'recipients').executeTakeFirstOrThrow();
  return Number(row.row_count);
}

export class RecipientStore {
  readonly #db: Kysely<Tables>;

  constructor(db: Kysely<Tables>) {
    this.#db = db;
  }

  /** Adds a recipient; undefined when the email is already stored. */
  async add(input: RecipientInput): Promise<Recipient | undefined> {
    const row = await this.#db
      .insertInto('recipients')
      .values({ name: input.name, email: input.email, email_key: emailKey(input.email), created_at: new Date().toISOString() })
      .onConflict((oc) => oc.column('email_key').doNothing())
      .returning(['id', 'name', 'email', 'created_at'])
      .executeTakeFirst();
    return row && toRecipient(row);
  }

  async delete(id: number): Promise<boolean> {
    const result = await this.#db.deleteFrom('recipients').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async count(): Promise<number> {
    return countRecipients(this.#db);
  }

  /** One page, newest first; `q` matches name or email, case-insensitively. */
  async list(options: { limit: number; offset: number; q?: string }): Promise<RecipientPage> {
    let query = this.#db.selectFrom('recipients');
    if (options.q) {
      const pattern = containsPattern(options.q);
      // ESCAPE spelled out: SQLite has no default escape character for LIKE.
      query = query.where(sql<boolean>`(lower(name) like ${pattern} escape '\\' or email_key like ${pattern} escape '\\')`);
    }
    const [items, total] = await Promise.all([
      query.select(['id', 'name', 'email', 'created_at']).orderBy('id', 'desc').limit(options.limit).offset(options.offset).execute(),
      // A search has to count its matches; the whole list's count is kept.
      options.q
        ? query
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
            .then((row) => Number(row.n))
        : this.count(),
    ]);
    return { total, items: items.map(toRecipient) };
  }
}
