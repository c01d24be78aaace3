import { readFileSync, type Stats, statSync } from 'node:fs';
import { DEFAULT_FLAGS, FLAG_BULK_SEND, FLAG_SEND_STRATEGY, type Flags, type FlagsSnapshot, isSendStrategy } from './flags.ts';

/**
 * Flags from a JSON file, for running without an Unleash server:
 *   { "bulk_send_feature": true, "send_strategy": "priority" }
 * The file is re-read whenever it changes, so editing it flips a flag in a
 * running process. A missing file means the defaults; a broken one keeps the
 * last good values and says why.
 */
export class FileFlags implements Flags {
  readonly #path: string;
  /** mtime and size of the file last read: a change of either means re-read. */
  #version = '';
  #current: FlagsSnapshot = DEFAULT_FLAGS;

  constructor(path: string) {
    this.#path = path;
  }

  evaluate(): FlagsSnapshot {
    // No exception for a missing file: this runs on every page, and having no
    // flags file is the common case (building the error was a few percent of
    // a dashboard request).
    let stat: Stats | undefined;
    try {
      stat = statSync(this.#path, { throwIfNoEntry: false });
    } catch {
      stat = undefined; // unreachable (a folder in the way, no permission): as if missing
    }
    if (stat === undefined) {
      this.#version = '';
      this.#current = DEFAULT_FLAGS;
      return this.#current;
    }
    const version = `${stat.mtimeMs}:${stat.size}`;
    if (version !== this.#version) {
      this.#version = version;
      this.#current = this.#read();
    }
    return this.#current;
  }

  #read(): FlagsSnapshot {
    let values: Record<string, unknown>;
    try {
      values = JSON.parse(readFileSync(this.#path, 'utf8')) as Record<string, unknown>;
      if (typeof values !== 'object' || values === null || Array.isArray(values)) throw new Error('expected a JSON object');
    } catch (error) {
      return { ...this.#current, warning: `flags file ${this.#path} is unreadable (${(error as Error).message}); using earlier values` };
    }
    const bulkSend = values[FLAG_BULK_SEND];
    const strategy = values[FLAG_SEND_STRATEGY];
    const problems: string[] = [];
    if (bulkSend !== undefined && typeof bulkSend !== 'boolean') problems.push(`${FLAG_BULK_SEND} must be true or false`);
    if (strategy !== undefined && !isSendStrategy(strategy)) problems.push(`${FLAG_SEND_STRATEGY} must be "default" or "priority"`);
    return {
      bulkSend: typeof bulkSend === 'boolean' ? { enabled: bulkSend, source: 'file' } : DEFAULT_FLAGS.bulkSend,
      sendStrategy: isSendStrategy(strategy) ? { variant: strategy, source: 'file' } : DEFAULT_FLAGS.sendStrategy,
      ...(problems.length > 0 ? { warning: `flags file ${this.#path}: ${problems.join('; ')}` } : {}),
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
