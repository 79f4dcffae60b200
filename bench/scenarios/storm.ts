/**
 * storm: a graceful restart with everyone connected, and everyone coming
 * back at once.
 *
 * For each target: `--sockets` (10,000) clients in rooms of `--room-size`
 * (50), one guest each (signed in beforehand, see `signInGuests`), open 100
 * at a time. Roomcast's rooms then get `--history` (20) messages each, sent
 * by their members, and every client must hold all of them. Then:
 *
 * 1. the server is stopped with SIGTERM: Roomcast (and the bare server,
 *    `bench/bare_server.ts`, which mirrors it) closes every socket with 1012
 *    and exits; the same server starts again on the same KV file;
 * 2. from the moment it listens (t0; as behind a balancer whose other
 *    instance answers at once) every client reconnects with the session it
 *    had, after the delay the browser's client waits after a 1012
 *    (`restartDelay` in `lib/chat/backoff.ts`, told the close reason), and
 *    again with the client's backoff if an attempt fails;
 * 3. on Roomcast each client recovers as `RoomClient` does: it reconnects
 *    with `?after=` its `Timeline`'s last contiguous `seq`, so its welcome
 *    carries no history but `resumeFrom`, and the server answers that
 *    resume itself (what followed, in pages); a `resume {after}` asks for
 *    the rest (`--resume=always`, the default: after every welcome without
 *    `resumeFrom` — none in the storm, whose reconnects all say `?after=`,
 *    so no resume is sent for a welcome; `gap`: only when the timeline has
 *    a gap, as the browser) — and the first `--storm-posts` (5) members of
 *    each room to be back each post one message, so the room moves on
 *    during the storm;
 * 4. a client is back when its welcome came and it holds every message of
 *    its room (history + storm posts); the bare server only reconnects.
 *
 * Reported: the time from t0 until every client is back (and p50/p99), the
 * server's CPU per reconnect over that time, presence frames received, resumes
 * sent and welcomes that answered `?after=` (`resumeFrom`), attempts that failed, the closes the restart sent, and the check that
 * every client of every room holds exactly its room's messages — each once,
 * none missing, in `seq` order (`checkRoom`).
 *
 * @module
 */

import { reconnectDelay, restartDelay } from "../../lib/chat/backoff.ts";
import {
  count,
  cpuMeter,
  fmt,
  type LatencySummary,
  log,
  pool,
  ratio,
  Samples,
  sleep,
  textTable,
} from "../common.ts";
import { isClientBound, loadGeneratorNote } from "../decide.ts";
import type { Options, Target } from "../options.ts";
import { clientHeaders, serverMetrics, startTarget } from "../server.ts";
import {
  checkRoom,
  type RoomCheck,
  StormClient,
  StormTally,
} from "../storm_client.ts";

/** Sockets opened at once before the storm. */
const SETUP_CONCURRENCY = 100;
/** History messages sent per second while seeding, all rooms together. */
const SEED_RATE = 500;
/** Longest wait for the seeded history to reach every client. */
const SEED_TIMEOUT_MS = 60_000;
/** Longest wait for every client to be back after the restart. */
const STORM_TIMEOUT_MS = 60_000;
/** Issue 18's target: every client back within this long on 2 cores. */
export const STORM_TARGET_MS = 3_000;

/** The storm scenario against one target. */
export interface StormResult {
  target: Target;
  layer: string | null;
  /** Every client back, and every room's messages held exactly once by all. */
  ok: boolean;
  sockets: number;
  rooms: number;
  roomSize: number;
  historyPerRoom: number;
  stormPostsPerRoom: number;
  resume: string;
  setupConnectMs: number;
  /** SIGTERM to the new server listening, ms. */
  restartMs: number;
  /** Closes the clients saw from the restart, by code. */
  restartCloses: Record<string, number>;
  /** Sockets whose close had not come when the old server had exited. */
  restartUnclosed: number;
  /** Clients back (live and caught up) within the timeout. */
  back: number;
  /** From t0 until the last client was back, ms (null if not all came back). */
  allBackMs: number | null;
  /** Per client, t0 → back, ms. */
  backMs: LatencySummary;
  /** Per client, t0 → welcome, ms. */
  liveMs: LatencySummary;
  /** Per client, its welcome → caught up (the resume's answer and the storm's posts), ms. */
  catchUpMs: LatencySummary;
  /** Per storm post, sent → back to its sender (stored, then sent to the room), ms. */
  postEchoMs: LatencySummary;
  /** Server CPU, % of one core, over t0 → all back; and per reconnect, µs. */
  serverCpuPct: number | null;
  clientCpuPct: number | null;
  otherCpuPct: number | null;
  serverCpuUsPerReconnect: number | null;
  /** The same for the server's main threads alone (where JavaScript runs: the limit when CPU-bound). */
  serverMainCpuUsPerReconnect: number | null;
  presenceFrames: number;
  presenceKiB: number;
  welcomes: number;
  welcomeKiB: number;
  resumes: number;
  /** Welcomes with `resumeFrom`: reconnects whose resume the server answered itself. */
  resumedWelcomes: number;
  failedAttempts: number;
  stormCloses: Record<string, number>;
  errors: Record<string, number>;
  check: RoomCheck;
  serverMetrics: Record<string, unknown> | null;
  serverDied: boolean;
  durationS: number;
}

/** Starts `target`, seeds the rooms, restarts it, measures the storm, stops. */
export async function runStorm(
  target: Target,
  o: Options,
): Promise<StormResult> {
  const rooms = Math.max(1, Math.ceil(o.sockets / o.roomSize));
  const history = target === "bare" ? 0 : o.history;
  const posts = target === "bare" ? 0 : Math.min(o.stormPosts, o.roomSize);
  const d = await startTarget(target, o, { scenario: "storm" });
  log(
    `storm ${d.label}: ${o.sockets} sockets in ${rooms} rooms of ${o.roomSize}, ` +
      `${history} messages of history, ${posts} posts per room during the storm`,
  );
  const tally = new StormTally();
  const clients: StormClient[] = [];
  let phase: "setup" | "restart" | "storm" | "done" = "setup";
  let t0 = 0;
  let back = 0;
  /** The reason of the restart's 1012 closes (the client's delay may depend on it). */
  let restartReason = "";
  const stormCloses = new Map<number, number>();
  let allBack: () => void = () => {};
  const allBackP = new Promise<void>((r) => allBack = r);
  const roomSent: string[][] = Array.from({ length: rooms }, () => []);
  const posted = new Array(rooms).fill(0);

  const reconnect = (c: StormClient, attempt: number, delayMs: number) => {
    setTimeout(() => {
      if (phase !== "storm") return;
      c.connect(d.wsUrl(`storm-${c.room}`), d.server.origin).then(() => {
        // The first members back post, so the room moves on during the storm.
        if (posted[c.room] < posts) {
          const clientId = `${c.id}-storm`;
          if (c.send(`storm post ${posted[c.room]}`, clientId)) {
            posted[c.room]++;
            roomSent[c.room].push(clientId);
          }
        }
      }).catch(() => {
        tally.failedAttempts++;
        reconnect(c, attempt + 1, reconnectDelay(attempt + 1));
      });
    }, delayMs);
  };

  try {
    const headers = await clientHeaders(d, o.sockets);
    for (let i = 0; i < o.sockets; i++) {
      const room = i % rooms;
      clients.push(
        new StormClient(
          room,
          `r${room}c${Math.floor(i / rooms)}`,
          headers[i],
          target,
          o.resume,
          tally,
          (c, end) => {
            if (phase === "restart") {
              tally.closed(end.code);
              restartReason = end.reason;
            } else if (phase === "storm" && end.welcomed) {
              // Closed after it was back: count it and come back again.
              stormCloses.set(end.code, (stormCloses.get(end.code) ?? 0) + 1);
              reconnect(c, 0, restartDelay(end.reason));
            }
          },
          () => {
            if (phase === "storm" && ++back === clients.length) allBack();
          },
        ),
      );
    }
    const ts = performance.now();
    await pool(
      clients,
      SETUP_CONCURRENCY,
      (c) => c.connect(d.wsUrl(`storm-${c.room}`), d.server.origin),
    );
    const setupConnectMs = performance.now() - ts;
    log(`${clients.length} sockets open in ${setupConnectMs.toFixed(0)} ms`);

    // History: member (h mod room size) of each room sends message h.
    if (history > 0) {
      const start = performance.now();
      let k = 0;
      const members: StormClient[][] = Array.from({ length: rooms }, () => []);
      for (const c of clients) members[c.room].push(c);
      for (let h = 0; h < history; h++) {
        for (let r = 0; r < rooms; r++, k++) {
          const sender = members[r][h % members[r].length];
          const clientId = `${sender.id}-h${h}`;
          if (sender.send(`storm history ${h}`, clientId)) {
            roomSent[r].push(clientId);
          }
          const due = start + (k * 1000) / SEED_RATE;
          if (due > performance.now()) await sleep(due - performance.now());
        }
      }
      for (const c of clients) c.goal = roomSent[c.room].length;
      const deadline = performance.now() + SEED_TIMEOUT_MS;
      while (
        clients.some((c) => c.timeline.contiguous < c.goal) &&
        performance.now() < deadline
      ) await sleep(50);
      const behind = clients.filter((c) => c.timeline.contiguous < c.goal);
      if (behind.length) {
        throw new Error(`${behind.length} clients never got the history`);
      }
      log(
        `${k} history messages held by every client after ${
          fmt(performance.now() - start, 0)
        } ms`,
      );
    }

    // The restart: every socket gets its 1012 and the server starts again.
    for (const c of clients) {
      c.goal = history + posts;
      c.caughtUpAt = 0;
    }
    phase = "restart";
    const tr = performance.now();
    await d.restart();
    const restartMs = performance.now() - tr;
    // The old server has exited: a socket whose close has not come yet is
    // dropped here, so its late close cannot start a second reconnect.
    let unclosed = 0;
    for (const c of clients) {
      if (c.socket) {
        unclosed++;
        c.abandon();
      }
    }

    // The storm.
    phase = "storm";
    tally.measuring = true;
    const cpu = cpuMeter(d.pids);
    t0 = performance.now();
    for (const c of clients) reconnect(c, 0, restartDelay(restartReason));
    await Promise.race([allBackP, sleep(STORM_TIMEOUT_MS)]);
    const tEnd = performance.now();
    const cpuFigures = cpu();
    tally.measuring = false;
    phase = "done";
    const allBackMs = back === clients.length ? tEnd - t0 : null;
    log(
      `${back}/${clients.length} back ${
        allBackMs === null ? "(timed out)" : `in ${fmt(allBackMs, 0)} ms`
      }`,
    );
    // Posts sent late in the storm: let them arrive before the check.
    await sleep(200);

    const backSamples = new Samples();
    const liveSamples = new Samples();
    const catchUpSamples = new Samples();
    const echoSamples = new Samples();
    for (const c of clients) {
      if (c.caughtUpAt) backSamples.push(c.caughtUpAt - t0);
      if (c.liveAt) liveSamples.push(c.liveAt - t0);
      if (c.caughtUpAt && c.liveAt) {
        catchUpSamples.push(c.caughtUpAt - c.liveAt);
      }
      if (c.postedAt > t0 && c.echoedAt) {
        echoSamples.push(c.echoedAt - c.postedAt);
      }
    }
    const check: RoomCheck = { missing: 0, duplicated: 0, wrongOrder: 0 };
    if (target === "roomcast") {
      for (let r = 0; r < rooms; r++) {
        const held = clients.filter((c) => c.room === r).map((c) =>
          c.timeline.messages.map((m) => ({
            seq: m.seq,
            clientId: m.clientId ?? "",
          }))
        );
        const found = checkRoom(held, roomSent[r]);
        check.missing += found.missing;
        check.duplicated += found.duplicated;
        check.wrongOrder += found.wrongOrder;
      }
    }
    const perReconnect = (pct: number | null) =>
      pct === null
        ? null
        : (pct / 100) * ((tEnd - t0) / 1000) * 1e6 / clients.length;
    const serverCpuUsPerReconnect = perReconnect(cpuFigures.serverCpuPct);
    const serverMainCpuUsPerReconnect = perReconnect(
      cpuFigures.serverMainCpuPct,
    );
    const serverDied = d.server.exited;
    const restartCloses = Object.fromEntries(tally.closes);
    return {
      target,
      layer: d.layer,
      ok: allBackMs !== null && check.missing === 0 &&
        check.duplicated === 0 && check.wrongOrder === 0 && !serverDied,
      sockets: clients.length,
      rooms,
      roomSize: o.roomSize,
      historyPerRoom: history,
      stormPostsPerRoom: posts,
      resume: o.resume,
      setupConnectMs,
      restartMs,
      restartCloses,
      restartUnclosed: unclosed,
      back,
      allBackMs,
      backMs: backSamples.summary(),
      liveMs: liveSamples.summary(),
      catchUpMs: catchUpSamples.summary(),
      postEchoMs: echoSamples.summary(),
      ...cpuFigures,
      serverCpuUsPerReconnect,
      serverMainCpuUsPerReconnect,
      presenceFrames: tally.presenceFrames,
      presenceKiB: tally.presenceChars / 1024,
      welcomes: tally.welcomes,
      welcomeKiB: tally.welcomeChars / 1024,
      resumes: tally.resumes,
      resumedWelcomes: tally.resumedWelcomes,
      failedAttempts: tally.failedAttempts,
      stormCloses: Object.fromEntries(stormCloses),
      errors: Object.fromEntries(tally.errors),
      check,
      serverMetrics: await serverMetrics(d),
      serverDied,
      durationS: 0, // set by the caller, stop included
    };
  } finally {
    phase = "done";
    await d.stop();
    for (const c of clients) c.close();
  }
}

/** roomcast ÷ bare: time until every client is back (higher is slower), when both ran. */
export function stormRatio(results: StormResult[]): number | null {
  const rc = results.find((r) => r.target === "roomcast");
  const bare = results.find((r) => r.target === "bare");
  return ratio(rc?.allBackMs, bare?.allBackMs);
}

/**
 * When the bare server's storm was bounded by the load generator (its clients
 * near a core, see `isClientBound`) and it finished, an estimate of what the
 * bare server itself would allow: `bareMs`, sockets × its main thread's CPU
 * per reconnect (the one thread every connection passes through); and
 * `roomcastRate`, Roomcast's reconnect rate as a fraction of that bound's
 * (`bareMs` ÷ Roomcast's time until all back: the inverse of
 * {@link stormRatio}'s direction, like the report's "reconnect rate ×").
 * Read beside the measured ratio, which the load generator flatters. Null
 * when the bare run was not client-bound, timed out, or lacks the figure.
 *
 * @example
 * ```ts
 * bareMainThreadBound(results); // { bareMs: 1660, roomcastRate: 0.26 }
 * ```
 */
export function bareMainThreadBound(
  results: Pick<
    StormResult,
    | "target"
    | "sockets"
    | "allBackMs"
    | "clientCpuPct"
    | "serverMainCpuUsPerReconnect"
  >[],
): { bareMs: number; roomcastRate: number | null } | null {
  const bare = results.find((r) => r.target === "bare");
  if (
    !bare || !isClientBound(bare.clientCpuPct) || bare.allBackMs === null ||
    bare.serverMainCpuUsPerReconnect === null
  ) return null;
  const bareMs = bare.sockets * bare.serverMainCpuUsPerReconnect / 1000;
  const rc = results.find((r) => r.target === "roomcast");
  return { bareMs, roomcastRate: ratio(bareMs, rc?.allBackMs) };
}

const label = (r: { target: string; layer: string | null }) =>
  r.layer ? `${r.target}/${r.layer}` : r.target;

const codes = (m: Record<string, number>) =>
  Object.keys(m).length
    ? Object.entries(m).map(([c, n]) => `${c}×${count(n)}`).join(" ")
    : "none";

/** A table row of p50 / p99, one cell per result. */
const latencyRow = (label: string, summaries: LatencySummary[]): string[] => [
  label,
  ...summaries.map((l) => `${fmt(l.p50, 0)} / ${fmt(l.p99, 0)}`),
];

/** The human-readable storm table: one column per target. */
export function stormTable(results: StormResult[]): string {
  const rows: string[][] = [
    ["storm", ...results.map(label)],
    [
      "sockets (rooms × size)",
      ...results.map((r) => `${count(r.sockets)} (${r.rooms} × ${r.roomSize})`),
    ],
    [
      "history + storm posts / room",
      ...results.map((r) => `${r.historyPerRoom} + ${r.stormPostsPerRoom}`),
    ],
    ["restart closes", ...results.map((r) => codes(r.restartCloses))],
    ["restart: no close seen", ...results.map((r) => count(r.restartUnclosed))],
    [
      "restart (SIGTERM → listening) ms",
      ...results.map((r) => fmt(r.restartMs, 0)),
    ],
    [
      "back (live + caught up)",
      ...results.map((r) => `${count(r.back)}/${count(r.sockets)}`),
    ],
    ["all back ms", ...results.map((r) => fmt(r.allBackMs, 0))],
    latencyRow("back p50 / p99 ms", results.map((r) => r.backMs)),
    latencyRow("welcome p50 / p99 ms", results.map((r) => r.liveMs)),
    latencyRow(
      "welcome → caught up p50 / p99 ms",
      results.map((r) => r.catchUpMs),
    ),
    latencyRow(
      "storm post → its echo p50 / p99 ms",
      results.map((r) => r.postEchoMs),
    ),
    [
      "reconnects/s",
      ...results.map((r) =>
        fmt(r.allBackMs ? r.sockets / (r.allBackMs / 1000) : null, 0)
      ),
    ],
    [
      "server CPU µs per reconnect",
      ...results.map((r) => fmt(r.serverCpuUsPerReconnect, 0)),
    ],
    [
      "  of which the main thread",
      ...results.map((r) => fmt(r.serverMainCpuUsPerReconnect, 0)),
    ],
    [
      "CPU %: server / client / other",
      ...results.map((r) =>
        `${fmt(r.serverCpuPct, 0)} / ${fmt(r.clientCpuPct, 0)} / ${
          fmt(r.otherCpuPct, 0)
        }`
      ),
    ],
    ["presence frames", ...results.map((r) => count(r.presenceFrames))],
    ["presence KiB (total)", ...results.map((r) => count(r.presenceKiB))],
    ["welcome KiB (total)", ...results.map((r) => count(r.welcomeKiB))],
    [
      `resumes (${results[0]?.resume ?? ""})`,
      ...results.map((r) => count(r.resumes)),
    ],
    [
      "welcomes answering ?after=",
      ...results.map((r) => count(r.resumedWelcomes)),
    ],
    ["failed attempts", ...results.map((r) => count(r.failedAttempts))],
    [
      "messages missing / duplicated",
      ...results.map((r) =>
        r.target === "bare"
          ? "n/a"
          : `${count(r.check.missing)} / ${count(r.check.duplicated)}`
      ),
    ],
    ["all back, nothing lost", ...results.map((r) => r.ok ? "yes" : "NO")],
  ];
  const out = [textTable(rows)];
  const rr = stormRatio(results);
  if (rr !== null) {
    out.push(
      "",
      `storm roomcast/bare time until all back ×${
        fmt(rr, 2)
      }; reconnect rate ×${
        fmt(1 / rr, 2)
      } of bare (issue target: ≥ 0.5× and all back within ${
        STORM_TARGET_MS / 1000
      } s)`,
    );
  }
  const bound = bareMainThreadBound(results);
  if (bound) {
    if (rr === null) out.push("");
    out.push(
      `bare bounded by its own main thread, not its clients (an estimate): ~${
        count(bound.bareMs)
      } ms${
        bound.roomcastRate === null
          ? ""
          : `; Roomcast's reconnect rate ×${fmt(bound.roomcastRate, 2)} of that`
      }`,
    );
  }
  const notes: string[] = [];
  for (const r of results) {
    const extra: string[] = [];
    if (Object.keys(r.stormCloses).length) {
      extra.push(`closes during the storm ${codes(r.stormCloses)}`);
    }
    if (Object.keys(r.errors).length) {
      extra.push(`error frames ${JSON.stringify(r.errors)}`);
    }
    if (r.check.wrongOrder) {
      extra.push(`${r.check.wrongOrder} clients hold other than seq 1…n`);
    }
    if (r.serverDied) extra.push("THE SERVER EXITED DURING THE RUN");
    // The bare server's storm is usually bounded by the clients, not by itself.
    const clientBound = loadGeneratorNote(r.clientCpuPct);
    if (clientBound) extra.push(clientBound);
    if (extra.length) notes.push(`${label(r)}: ${extra.join("; ")}`);
  }
  if (notes.length) out.push("", ...notes);
  return out.join("\n");
}
