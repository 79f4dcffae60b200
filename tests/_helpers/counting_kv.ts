/**
 * A Deno.Kv that counts the operations made through it (to measure what the
 * `kv` layer costs) and can refuse watches and reads (to test what the layer
 * does when KV is failing). Everything else passes through.
 */

/** Operations made through a {@link countingKv}. */
export interface KvCounts {
  /** Atomic commits (each one write, however many mutations). */
  commits: number;
  /** `get` and `getMany` calls. */
  reads: number;
  /** `list` calls (one range read each, with the layer's batch size). */
  lists: number;
  /** `watch` streams opened. */
  watches: number;
}

/** Hooks of a {@link countingKv}. */
export interface KvHooks {
  /** Thrown by `watch` instead of opening a stream, while it returns an error. */
  watchError?: () => Error | null;
  /** Thrown by `list` instead of reading, while it returns an error. */
  listError?: () => Error | null;
}

/** Wraps `kv`; the counts fill as the wrapper is used. */
export function countingKv(
  kv: Deno.Kv,
  hooks: KvHooks = {},
): { kv: Deno.Kv; counts: KvCounts } {
  const counts: KvCounts = { commits: 0, reads: 0, lists: 0, watches: 0 };
  const wrapped = new Proxy(kv, {
    get(target, prop) {
      switch (prop) {
        case "atomic":
          return () => {
            const op = target.atomic();
            const commit = op.commit.bind(op);
            op.commit = () => {
              counts.commits++;
              return commit();
            };
            return op;
          };
        case "get":
        case "getMany":
          return (...args: unknown[]) => {
            counts.reads++;
            return (target[prop] as (...a: unknown[]) => unknown)
              .apply(target, args);
          };
        case "list":
          return (...args: Parameters<Deno.Kv["list"]>) => {
            const error = hooks.listError?.();
            if (error) throw error;
            counts.lists++;
            return target.list(...args);
          };
        case "watch":
          return (...args: Parameters<Deno.Kv["watch"]>) => {
            const error = hooks.watchError?.();
            if (error) throw error;
            counts.watches++;
            return target.watch(...args);
          };
        default: {
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        }
      }
    },
  });
  return { kv: wrapped, counts };
}
