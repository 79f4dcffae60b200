/**
 * A storm's clients in one thread: the {@link StormClient}s of some of the
 * rooms (every member of a room in one fleet, so a room's check is local),
 * taken through the storm's phases by commands — open, seed the history, the
 * restart, the storm, stop, report. `bench/storm_worker.ts` runs one fleet per
 * worker thread and `bench/scenarios/storm.ts` coordinates them
 * ({@link FleetThread}), so the load generator has more than one core's worth
 * of event loop: with one thread of 10,000 clients the bare server's storm
 * was the client's time (its thread at 92–96 % of a core).
 *
 * Times cross threads on the shared wall clock ({@link sharedNow}); each
 * latency a fleet reports is relative to the storm's start `t0` on it.
 *
 * @module
 */

import { reconnectDelay, restartDelay } from "../lib/chat/backoff.ts";
import { pool, sharedNow, sleep, threadCpuSeconds } from "./common.ts";
import {
  checkRoom,
  type ResumeMode,
  type RoomCheck,
  StormClient,
  StormTally,
} from "./storm_client.ts";

/** One client of a fleet: its room, its name and its request headers (session cookie). */
export interface FleetMember {
  room: number;
  id: string;
  headers: Record<string, string>;
}

/** A command from the coordinator; each is answered by one {@link FleetReply}. */
export type FleetCommand =
  | {
    type: "open";
    target: "roomcast" | "bare";
    resume: ResumeMode;
    members: FleetMember[];
    /** The socket URL without the room (`ws://…/ws/chat/`). */
    wsBase: string;
    origin: string;
    concurrency: number;
  }
  | { type: "seed"; history: number; ratePerSecond: number; timeoutMs: number }
  | { type: "restart"; posts: number }
  | { type: "storm"; wsBase: string; origin: string; t0: number }
  | { type: "stop" }
  | { type: "report" };

/** A fleet's answer to a {@link FleetCommand}, or news (`back`), or a failure. */
export type FleetReply =
  | { type: "opened" }
  | { type: "seeded"; messages: number }
  | { type: "restarting" }
  | { type: "storming" }
  /** Every client of the fleet is back, at `at` on the shared clock. */
  | { type: "back"; at: number }
  | { type: "stopped" }
  | { type: "report"; report: FleetReport }
  | { type: "failed"; message: string };

/** What one fleet measured over the storm. */
export interface FleetReport {
  members: number;
  back: number;
  /** Per client, ms after `t0`: back (caught up), and its welcome. */
  backMs: number[];
  liveMs: number[];
  /** Per client, its welcome → caught up, ms. */
  catchUpMs: number[];
  /** Per storm post, sent → back to its sender, ms. */
  postEchoMs: number[];
  presenceFrames: number;
  presenceChars: number;
  welcomes: number;
  welcomeChars: number;
  resumes: number;
  resumedWelcomes: number;
  failedAttempts: number;
  restartCloses: Record<string, number>;
  /** Sockets whose restart close had not come when the storm began. */
  restartUnclosed: number;
  stormCloses: Record<string, number>;
  errors: Record<string, number>;
  check: RoomCheck;
  /** This thread's CPU from the storm's start to `stop`, % of one core (null off Linux). */
  threadCpuPct: number | null;
}

type Phase = "setup" | "restart" | "storm" | "done";

/** The clients of some rooms, driven by {@link handle}. */
export class StormFleet {
  readonly #tally = new StormTally();
  #clients: StormClient[] = [];
  #phase: Phase = "setup";
  #wsBase = "";
  #origin = "";
  #posts = 0;
  #back = 0;
  #unclosed = 0;
  /** The storm's start, on this thread's `performance.now()`. */
  #t0 = 0;
  #cpuAtStart: number | null = null;
  #threadCpuPct: number | null = null;
  #restartReason = "";
  readonly #stormCloses = new Map<number, number>();
  /** Per room, the clientIds of what it was sent, in order. */
  readonly #roomSent = new Map<number, string[]>();
  readonly #posted = new Map<number, number>();

  /** @param reply where answers and news go (the worker's `postMessage`). */
  constructor(readonly reply: (r: FleetReply) => void) {}

  /** Runs one command; a failure is answered as `failed`. */
  async handle(cmd: FleetCommand): Promise<void> {
    try {
      this.reply(await this.#run(cmd));
    } catch (e) {
      this.reply({
        type: "failed",
        message: e instanceof Error ? e.message : String(e),
      });
    }
  }

  async #run(cmd: FleetCommand): Promise<FleetReply> {
    switch (cmd.type) {
      case "open":
        return await this.#open(cmd);
      case "seed":
        return await this.#seed(cmd.history, cmd.ratePerSecond, cmd.timeoutMs);
      case "restart":
        this.#posts = cmd.posts;
        for (const c of this.#clients) {
          c.goal = (this.#roomSent.get(c.room)?.length ?? 0) + cmd.posts;
          c.caughtUpAt = 0;
        }
        this.#phase = "restart";
        return { type: "restarting" };
      case "storm":
        this.#storm(cmd.wsBase, cmd.origin, cmd.t0);
        return { type: "storming" };
      case "stop": {
        const cpu = threadCpuSeconds();
        const seconds = (performance.now() - this.#t0) / 1000;
        this.#threadCpuPct = cpu === null || this.#cpuAtStart === null ||
            seconds <= 0
          ? null
          : 100 * (cpu - this.#cpuAtStart) / seconds;
        this.#tally.measuring = false;
        this.#phase = "done";
        return { type: "stopped" };
      }
      case "report":
        return { type: "report", report: this.#report() };
    }
  }

  #url(room: number): string {
    return `${this.#wsBase}storm-${room}`;
  }

  async #open(cmd: Extract<FleetCommand, { type: "open" }>) {
    this.#wsBase = cmd.wsBase;
    this.#origin = cmd.origin;
    for (const m of cmd.members) {
      this.#roomSent.set(m.room, []);
      this.#posted.set(m.room, 0);
      this.#clients.push(
        new StormClient(
          m.room,
          m.id,
          m.headers,
          cmd.target,
          cmd.resume,
          this.#tally,
          (c, end) => this.#ended(c, end.code, end.reason, end.welcomed),
          () => {
            if (this.#phase !== "storm") return;
            if (++this.#back === this.#clients.length) {
              this.reply({ type: "back", at: sharedNow() });
            }
          },
        ),
      );
    }
    await pool(
      this.#clients,
      cmd.concurrency,
      (c) => c.connect(this.#url(c.room), this.#origin),
    );
    return { type: "opened" } as const;
  }

  #ended(c: StormClient, code: number, reason: string, welcomed: boolean) {
    if (this.#phase === "restart") {
      this.#tally.closed(code);
      this.#restartReason = reason;
    } else if (this.#phase === "storm" && welcomed) {
      // Closed after it was back: count it and come back again.
      this.#stormCloses.set(code, (this.#stormCloses.get(code) ?? 0) + 1);
      this.#reconnect(c, 0, restartDelay(reason));
    }
  }

  /** History: member (h mod room size) of each room sends message h, paced. */
  async #seed(history: number, ratePerSecond: number, timeoutMs: number) {
    const members = new Map<number, StormClient[]>();
    for (const c of this.#clients) {
      const list = members.get(c.room) ?? [];
      list.push(c);
      members.set(c.room, list);
    }
    const start = performance.now();
    let k = 0;
    for (let h = 0; h < history; h++) {
      for (const [room, list] of members) {
        const sender = list[h % list.length];
        const clientId = `${sender.id}-h${h}`;
        if (sender.send(`storm history ${h}`, clientId)) {
          this.#roomSent.get(room)!.push(clientId);
        }
        const due = start + (++k * 1000) / ratePerSecond;
        if (due > performance.now()) await sleep(due - performance.now());
      }
    }
    for (const c of this.#clients) c.goal = this.#roomSent.get(c.room)!.length;
    const deadline = performance.now() + timeoutMs;
    const behind = () =>
      this.#clients.filter((c) => c.timeline.contiguous < c.goal).length;
    while (behind() > 0 && performance.now() < deadline) await sleep(50);
    if (behind() > 0) {
      throw new Error(`${behind()} clients never got the history`);
    }
    return { type: "seeded", messages: k } as const;
  }

  #storm(wsBase: string, origin: string, t0: number): void {
    // The old server has exited: a socket whose close has not come yet is
    // dropped here, so its late close cannot start a second reconnect.
    for (const c of this.#clients) {
      if (c.socket) {
        this.#unclosed++;
        c.abandon();
      }
    }
    this.#wsBase = wsBase;
    this.#origin = origin;
    this.#phase = "storm";
    this.#tally.measuring = true;
    this.#t0 = t0 - performance.timeOrigin;
    this.#cpuAtStart = threadCpuSeconds();
    if (this.#clients.length === 0) {
      this.reply({ type: "back", at: sharedNow() });
    }
    const delay = restartDelay(this.#restartReason);
    for (const c of this.#clients) this.#reconnect(c, 0, delay);
  }

  #reconnect(c: StormClient, attempt: number, delayMs: number): void {
    setTimeout(() => {
      if (this.#phase !== "storm") return;
      c.connect(this.#url(c.room), this.#origin).then(() => {
        // The first members back post, so the room moves on during the storm.
        const posted = this.#posted.get(c.room) ?? 0;
        if (posted < this.#posts) {
          const clientId = `${c.id}-storm`;
          if (c.send(`storm post ${posted}`, clientId)) {
            this.#posted.set(c.room, posted + 1);
            this.#roomSent.get(c.room)!.push(clientId);
          }
        }
      }).catch(() => {
        this.#tally.failedAttempts++;
        this.#reconnect(c, attempt + 1, reconnectDelay(attempt + 1));
      });
    }, delayMs);
  }

  #report(): FleetReport {
    const t0 = this.#t0;
    const backMs: number[] = [];
    const liveMs: number[] = [];
    const catchUpMs: number[] = [];
    const postEchoMs: number[] = [];
    const held = new Map<number, { seq: number; clientId: string }[][]>();
    for (const c of this.#clients) {
      if (c.caughtUpAt) backMs.push(c.caughtUpAt - t0);
      if (c.liveAt) liveMs.push(c.liveAt - t0);
      if (c.caughtUpAt && c.liveAt) catchUpMs.push(c.caughtUpAt - c.liveAt);
      if (c.postedAt > t0 && c.echoedAt) {
        postEchoMs.push(c.echoedAt - c.postedAt);
      }
      const list = held.get(c.room) ?? [];
      list.push(
        c.timeline.messages.map((m) => ({
          seq: m.seq,
          clientId: m.clientId ?? "",
        })),
      );
      held.set(c.room, list);
    }
    const check: RoomCheck = { missing: 0, duplicated: 0, wrongOrder: 0 };
    if (this.#clients[0]?.target === "roomcast") {
      for (const [room, messages] of held) {
        const found = checkRoom(messages, this.#roomSent.get(room)!);
        check.missing += found.missing;
        check.duplicated += found.duplicated;
        check.wrongOrder += found.wrongOrder;
      }
    }
    const t = this.#tally;
    return {
      members: this.#clients.length,
      back: this.#back,
      backMs,
      liveMs,
      catchUpMs,
      postEchoMs,
      presenceFrames: t.presenceFrames,
      presenceChars: t.presenceChars,
      welcomes: t.welcomes,
      welcomeChars: t.welcomeChars,
      resumes: t.resumes,
      resumedWelcomes: t.resumedWelcomes,
      failedAttempts: t.failedAttempts,
      restartCloses: Object.fromEntries(t.closes),
      restartUnclosed: this.#unclosed,
      stormCloses: Object.fromEntries(this.#stormCloses),
      errors: Object.fromEntries(t.errors),
      check,
      threadCpuPct: this.#threadCpuPct,
    };
  }

  /** Closes every socket (the bench is over). */
  close(): void {
    this.#phase = "done";
    for (const c of this.#clients) c.close();
  }
}

/**
 * The coordinator's side of one fleet in a worker thread: commands go in,
 * each `await`ed answer comes back; a fleet's `back` news is awaited apart
 * ({@link back}), and a failed command or a crashed worker rejects.
 */
export class FleetThread {
  readonly #worker = new Worker(
    new URL("./storm_worker.ts", import.meta.url),
    { type: "module" },
  );
  #waiting: {
    type: FleetReply["type"];
    resolve: (r: FleetReply) => void;
    reject: (e: Error) => void;
  } | null = null;
  #backAt: number | null = null;
  #onBack: (() => void) | null = null;
  #crashed: Error | null = null;

  constructor() {
    this.#worker.onmessage = (e: MessageEvent<FleetReply>) => {
      const r = e.data;
      if (r.type === "back") {
        this.#backAt = r.at;
        this.#onBack?.();
        return;
      }
      const w = this.#waiting;
      this.#waiting = null;
      if (!w) return;
      if (r.type === "failed") w.reject(new Error(`storm fleet: ${r.message}`));
      else if (r.type !== w.type) {
        w.reject(new Error(`storm fleet: ${r.type} instead of ${w.type}`));
      } else w.resolve(r);
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#crashed = new Error(`storm fleet crashed: ${e.message}`);
      this.#waiting?.reject(this.#crashed);
      this.#waiting = null;
    };
  }

  /** Sends `cmd` and resolves with its answer of type `expect`. */
  ask<T extends FleetReply["type"]>(
    cmd: FleetCommand,
    expect: T,
  ): Promise<Extract<FleetReply, { type: T }>> {
    if (this.#crashed) return Promise.reject(this.#crashed);
    if (this.#waiting) {
      return Promise.reject(new Error("storm fleet: one command at a time"));
    }
    return new Promise((resolve, reject) => {
      this.#waiting = {
        type: expect,
        resolve: resolve as (r: FleetReply) => void,
        reject,
      };
      this.#worker.postMessage(cmd);
    });
  }

  /** Resolves with the shared-clock time every client of the fleet was back. */
  back(): Promise<number> {
    return new Promise((resolve) => {
      const done = () => resolve(this.#backAt!);
      if (this.#backAt !== null) done();
      else this.#onBack = done;
    });
  }

  /** Ends the worker (its sockets with it). */
  terminate(): void {
    this.#worker.terminate();
  }
}
