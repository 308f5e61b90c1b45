/** Node's timers take at most 2^31-1 ms (about 24.8 days); a longer delay fires after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `callback` when a token expires (`expiresAt`, epoch ms), however far away that is: a long
 * wait is made of timers of at most MAX_TIMER_MS. Returns how to cancel it.
 */
export function onTokenExpiry(expiresAt: number, callback: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const wait = expiresAt - Date.now();
    timer = wait > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(callback, Math.max(0, wait));
  };
  arm();
  return () => clearTimeout(timer);
}
