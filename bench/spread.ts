/**
 * How the idle scenario spreads its sockets when one process cannot hold
 * them all, pure: over load-generator processes (each under its `nofile`
 * limit) and, within each, over source addresses of 127.0.0.0/8 (each under
 * the ephemeral port range). See `bench/load.ts` for the processes.
 *
 * @module
 */

/**
 * Most sockets one load-generator process opens. The hard `nofile` limit is
 * per process (20,000 on the machine this was measured on, and not raisable
 * there); this leaves a quarter of it for the runtime's own descriptors.
 */
export const LOAD_PROCESS_MAX_SOCKETS = 15_000;

/**
 * Most sockets from one source address. Each socket binds its source address
 * with port 0, so the kernel gives it a port of the ephemeral range
 * (`/proc/sys/net/ipv4/ip_local_port_range`, 32768–60999 by default: 28,232
 * ports) unique on that address; half of it leaves room for whatever else
 * uses the address.
 */
export const ADDRESS_MAX_SOCKETS = 14_000;

/** One run of consecutive sockets, all from one source address, in one load process. */
export interface LoadSlice {
  /** The load process (0, 1, …) that holds these sockets. */
  process: number;
  /** Source address on 127.0.0.0/8 the sockets connect from. */
  address: string;
  /** Index of the first socket (sockets are numbered 0 … total − 1 over every slice). */
  first: number;
  /** Sockets in this slice. */
  count: number;
}

/**
 * The `n`-th source address of the load generator on 127.0.0.0/8, from
 * 127.0.0.2 (127.0.0.1 stays the servers' own address).
 *
 * @example
 * ```ts
 * loopbackAddress(0); // "127.0.0.2"
 * loopbackAddress(254); // "127.0.1.0"
 * ```
 */
export function loopbackAddress(n: number): string {
  const k = n + 2;
  // 127.255.255.255 is the broadcast address of the block.
  if (!Number.isInteger(n) || n < 0 || k >= 0xff_ff_ff) {
    throw new RangeError(`no loopback address number ${n}`);
  }
  return `127.${(k >> 16) & 0xff}.${(k >> 8) & 0xff}.${k & 0xff}`;
}

/**
 * Load processes for `total` sockets: `requested`, or with `"auto"` the
 * fewest that keep each at or under `maxPerProcess`. Throws if `requested`
 * leaves one over it.
 *
 * @example
 * ```ts
 * loadProcessesFor(50_000, "auto", 15_000); // 4
 * ```
 */
export function loadProcessesFor(
  total: number,
  requested: number | "auto",
  maxPerProcess: number = LOAD_PROCESS_MAX_SOCKETS,
): number {
  const fewest = Math.max(1, Math.ceil(total / maxPerProcess));
  if (requested === "auto") return fewest;
  if (requested < fewest) {
    throw new RangeError(
      `${total} sockets need at least ${fewest} load processes of at most ${maxPerProcess}`,
    );
  }
  return requested;
}

/**
 * Splits sockets `0 … total − 1` into consecutive slices: as evenly as
 * possible over `processes` load processes, and within each process as
 * evenly as possible over the fewest source addresses that keep each at or
 * under `maxPerAddress`. Every address is used by one process only; a
 * process with no socket gets no slice.
 *
 * @example
 * ```ts
 * spreadSockets(50_000, 4, 14_000).map((s) => [s.process, s.address, s.count]);
 * // [[0, "127.0.0.2", 12500], [1, "127.0.0.3", 12500], [2, "127.0.0.4", 12500], [3, "127.0.0.5", 12500]]
 * ```
 */
export function spreadSockets(
  total: number,
  processes: number,
  maxPerAddress: number = ADDRESS_MAX_SOCKETS,
): LoadSlice[] {
  if (!Number.isInteger(total) || total < 0) {
    throw new RangeError(`total must be a non-negative integer, got ${total}`);
  }
  if (!Number.isInteger(processes) || processes < 1) {
    throw new RangeError(`processes must be a positive integer`);
  }
  if (!Number.isInteger(maxPerAddress) || maxPerAddress < 1) {
    throw new RangeError(`maxPerAddress must be a positive integer`);
  }
  const slices: LoadSlice[] = [];
  let first = 0;
  let address = 0;
  for (let p = 0; p < processes; p++) {
    const inProcess = evenShare(total, processes, p);
    const addresses = Math.ceil(inProcess / maxPerAddress);
    for (let a = 0; a < addresses; a++) {
      const count = evenShare(inProcess, addresses, a);
      slices.push({
        process: p,
        address: loopbackAddress(address++),
        first,
        count,
      });
      first += count;
    }
  }
  return slices;
}

/** Share `i` of `total` split over `parts`: the first `total % parts` get one more. */
function evenShare(total: number, parts: number, i: number): number {
  return Math.floor(total / parts) + (i < total % parts ? 1 : 0);
}

/**
 * The sockets one message reaches: its room, and on the bare server (no
 * layer between processes) only the sockets of the same server process.
 *
 * @example
 * ```ts
 * broadcastGroup(3, null); // "3" (Roomcast: the room, on every process)
 * broadcastGroup(3, 4242); // "3@4242" (bare: the room on process 4242)
 * ```
 */
export function broadcastGroup(room: number, process: number | null): string {
  return process === null ? String(room) : `${room}@${process}`;
}

/**
 * Who sends the liveness check's messages, given the open sockets per
 * broadcast group of each load process: one message per group, from the
 * first load process with an open socket in it. Returns the groups each load
 * process sends in, and the open sockets per group over all of them (each
 * message is owed to every one of its group).
 *
 * @example
 * ```ts
 * livenessSenders([{ "0": 2 }, { "0": 1, "1": 3 }]);
 * // { sends: [["0"], ["1"]], members: { "0": 3, "1": 3 } }
 * ```
 */
export function livenessSenders(
  groupsPerLoad: readonly Record<string, number>[],
): { sends: string[][]; members: Record<string, number> } {
  const sends: string[][] = groupsPerLoad.map(() => []);
  const members: Record<string, number> = {};
  for (const [i, groups] of groupsPerLoad.entries()) {
    for (const [group, open] of Object.entries(groups)) {
      if (open <= 0) continue;
      if (!(group in members)) {
        members[group] = 0;
        sends[i].push(group);
      }
      members[group] += open;
    }
  }
  return { sends, members };
}
