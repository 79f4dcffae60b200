/**
 * One load-generator process of the idle scenario when its sockets are
 * spread (`bench/load.ts` starts it; `bench/spread.ts` plans it): holds its
 * slices of the sockets, each slice from its own source address on
 * 127.0.0.0/8, and answers the bench's commands, one JSON line each way
 * (requests on stdin, replies on stdout; progress and errors on stderr).
 *
 * Run: `deno run -A bench/load_process.ts SPEC.json` (see {@link LoadSpec}).
 *
 * @module
 */

import {
  type BenchClient,
  type BenchTag,
  connectAll,
  connectErrorKey,
  Tally,
} from "./client.ts";
import {
  lines,
  type LoadReply,
  type LoadRequest,
  type LoadSpec,
} from "./load.ts";
import { broadcastGroup } from "./spread.ts";
import { sharedNow } from "./common.ts";

function countsOf(map: Map<string | number, number>): Record<string, number> {
  return Object.fromEntries(map);
}

/** A tally whose latencies are on {@link sharedNow}'s clock, as the liveness messages' stamps. */
class SharedClockTally extends Tally {
  override deliver(tag: BenchTag, room: number, now: number): void {
    super.deliver(tag, room, performance.timeOrigin + now);
  }
}

async function main(): Promise<void> {
  const spec: LoadSpec = JSON.parse(await Deno.readTextFile(Deno.args[0]));
  const wsUrl = (room: string) => `${spec.wsBase}${room}`;
  const sink = { tally: new Tally(0, spec.rooms) };
  sink.tally.measuring = true;
  const clients: BenchClient[] = [];
  const httpClients = spec.slices.map((s) =>
    Deno.createHttpClient({ localAddress: s.address })
  );
  const encoder = new TextEncoder();
  const reply = (r: LoadReply) =>
    Deno.stdout.writeSync(encoder.encode(JSON.stringify(r) + "\n"));

  const handle = async (req: LoadRequest): Promise<LoadReply> => {
    switch (req.cmd) {
      case "connect": {
        const errors = new Map<string, number>();
        const t = performance.now();
        let offset = 0;
        for (const [k, slice] of spec.slices.entries()) {
          const headers = spec.headers.slice(offset, offset + slice.count);
          offset += slice.count;
          // connectAll pushes every client it opens onto `clients`.
          await connectAll(
            wsUrl,
            headers,
            spec.rooms,
            sink,
            spec.concurrency,
            clients,
            (_i, err) => {
              const key = connectErrorKey(err);
              errors.set(key, (errors.get(key) ?? 0) + 1);
            },
            spec.welcomeTimeoutMs,
            { first: slice.first, client: httpClients[k] },
          );
        }
        sink.tally.measuring = false;
        return {
          cmd: "connect",
          opened: clients.length,
          errors: Object.fromEntries(errors),
          ms: performance.now() - t,
          presenceFrames: sink.tally.presenceFrames,
        };
      }
      case "status": {
        const groups: Record<string, number> = {};
        for (const c of clients) {
          if (!c.open) continue;
          const g = broadcastGroup(c.room, c.process);
          groups[g] = (groups[g] ?? 0) + 1;
        }
        return {
          cmd: "status",
          open: clients.filter((c) => c.open).length,
          groups,
          unexpectedCloses: countsOf(sink.tally.unexpectedCloses),
          otherErrors: countsOf(sink.tally.otherErrors),
        };
      }
      case "arm":
        // Deliveries from now on count for the liveness check.
        sink.tally = new SharedClockTally(1, spec.rooms);
        return { cmd: "arm" };
      case "send": {
        const sent: Record<string, number> = {};
        const wanted = new Set(req.groups);
        for (const c of clients) {
          const g = broadcastGroup(c.room, c.process);
          if (!c.open || !wanted.has(g)) continue;
          wanted.delete(g);
          if (c.sendBench("m", 1, 0, spec.size, sharedNow())) sent[g] = 1;
        }
        return { cmd: "send", sent };
      }
      case "tally": {
        const t = sink.tally;
        return {
          cmd: "tally",
          delivered: t.delivered,
          latenciesMs: Array.from(
            { length: t.latencies.length },
            (_, i) => t.latencies.at(i),
          ),
          unexpectedCloses: countsOf(t.unexpectedCloses),
          otherErrors: countsOf(t.otherErrors),
          rateLimited: t.warmupRateLimited + t.rateLimited.reduce(
            (a, b) => a + b,
            0,
          ),
        };
      }
      case "exit":
        // The servers are gone by now: no close handshakes to wait for.
        for (const c of clients) c.closing = true;
        reply({ cmd: "exit" });
        Deno.exit(0);
        break;
      default: {
        const _exhaustive: never = req;
        throw new Error(`unknown request ${JSON.stringify(_exhaustive)}`);
      }
    }
  };

  reply({ cmd: "ready" });
  for await (const line of lines(Deno.stdin.readable)) {
    reply(await handle(JSON.parse(line)));
  }
  // The bench closed our stdin: it is gone.
  Deno.exit(0);
}

if (import.meta.main) {
  try {
    await main();
  } catch (err) {
    console.error(`[load ${Deno.pid}]`, err);
    Deno.exit(1);
  }
}
