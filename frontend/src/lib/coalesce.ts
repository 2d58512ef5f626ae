// Runs `task(key)` at most once at a time per key; asked again while it runs, it runs once
// more afterwards (however many times it was asked), so the last run always sees the latest
// state and answers never land out of order.
export function coalesce<K>(task: (key: K) => Promise<void>): (key: K) => Promise<void> {
  const running = new Map<K, { again: boolean; done: Promise<void> }>();

  return function run(key: K): Promise<void> {
    const current = running.get(key);
    if (current) {
      current.again = true;
      return current.done;
    }
    const entry = { again: false, done: Promise.resolve() };
    entry.done = (async () => {
      try {
        do {
          entry.again = false;
          try {
            await task(key);
          } catch {
            // the next event or action tries again
          }
        } while (entry.again);
      } finally {
        running.delete(key);
      }
    })();
    running.set(key, entry);
    return entry.done;
  };
}
