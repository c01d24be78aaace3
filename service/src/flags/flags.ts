// Feature flags behind one small interface, so the rest of the service does
// not care whether values come from Unleash, a local file or the defaults.
// Names are the contract's (kept from the original plan).

export const FLAG_BULK_SEND = 'bulk_send_feature';
export const FLAG_SEND_STRATEGY = 'send_strategy';

export type FlagSource = 'unleash' | 'file' | 'default';
export type SendStrategy = 'default' | 'priority';

export interface FlagsSnapshot {
  bulkSend: { enabled: boolean; source: FlagSource };
  sendStrategy: { variant: SendStrategy; source: FlagSource };
  /** Set when the flags' backend cannot be reached and older values are in use. */
  warning?: string;
}

export interface Flags {
  /** Current values; `stickiness` keys gradual rollouts (one run, one answer). */
  evaluate(stickiness?: string): FlagsSnapshot;
  close(): Promise<void>;
}

/** What the service does when nobody configured anything: sending allowed, default queue. */
export const DEFAULT_FLAGS: FlagsSnapshot = {
  bulkSend: { enabled: true, source: 'default' },
  sendStrategy: { variant: 'default', source: 'default' },
};

export function isSendStrategy(value: unknown): value is SendStrategy {
  return value === 'default' || value === 'priority';
}
