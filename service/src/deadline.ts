/**
 * How PROMISE ended within MS milliseconds, or 'pending' if it had not by
 * then. It is not cancelled: JavaScript cannot cancel a promise, and the
 * callers (a probe's check, a close) only need to stop waiting for it.
 */
export function settledWithin(promise: Promise<unknown>, ms: number): Promise<'fulfilled' | 'rejected' | 'pending'> {
  return Promise.race([
    promise.then(
      () => 'fulfilled' as const,
      () => 'rejected' as const,
    ),
    new Promise<'pending'>((resolve) => setTimeout(resolve, ms, 'pending').unref()),
  ]);
}

/** Whether CHECK succeeds within MS milliseconds (a check must never hang a probe). */
export async function succeedsWithin(ms: number, check: () => Promise<unknown>): Promise<boolean> {
  return (await settledWithin(check(), ms)) === 'fulfilled';
}
