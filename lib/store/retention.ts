/**
 * History retention on Deno KV, by count AND age: a message is deleted only
 * once it is beyond the room's last `count` messages and older than
 * `minAgeMs`. So a burst, however large, deletes nothing younger than the
 * minimum age: a flood cannot push a room's real history out.
 *
 * Checking a message's age means reading it, and the append path has no read
 * in the common case (one KV round trip per group commit). So the deleting
 * is a background sweep ({@link RetentionSweeper}) over the rooms this store
 * appended to past their count: per pass, a bounded range read of each due
 * room's oldest messages and deletes in batches, and a room whose oldest
 * excess message is still young is not read again until that message comes
 * of age. A minimum age of 0 keeps the count-only rule, applied inside the
 * append's own atomic write as before (no sweep).
 *
 * @module
 */

import { LruMap } from "../lru.ts";
import type { ChatMessage } from "../chat/types.ts";
import { deleteEventsBefore } from "./events.ts";

/** Messages one pass reads per room before moving on (the room stays due). */
export const PRUNE_BATCH = 500;
/** Rooms one pass reads, so a pass stays short however many rooms are due. */
export const PRUNE_ROOMS_PER_PASS = 100;
/** Deletes per atomic write: within Deno KV's 1,000 mutations and 800 KiB. */
const PRUNE_DELETES_PER_OP = 500;
/** Wait before a pass after an append made a room due: a busy room's work is batched. */
export const PRUNE_DELAY_MS = 60_000;
/** Wait before the next pass while a room still has work past {@link PRUNE_BATCH}. */
export const PRUNE_BUSY_MS = 1_000;
/** Longest wait between passes while rooms are due (a timer cannot wait days). */
export const PRUNE_MAX_DELAY_MS = 3_600_000;
/** Rooms remembered as due; the oldest is forgotten first (its next append makes it due again). */
export const MAX_DUE_ROOMS = 10_000;

/** What retention keeps: the last `count` messages of a room, and every message younger than `minAgeMs`. */
export interface RetentionPolicy {
  count: number;
  minAgeMs: number;
}

/** A room past its count, as this store last wrote it. */
interface Due {
  lastSeq: number;
  /** Not read before this time: its oldest excess message is young until then. */
  notBefore: number;
}

/**
 * How long to wait before the next pass: as soon as a room may have work,
 * but at least {@link PRUNE_BUSY_MS} and at most {@link PRUNE_MAX_DELAY_MS};
 * `null` when nothing is due.
 *
 * @example
 * ```ts
 * nextPruneDelay([1_000 + 7 * 86_400_000], 1_000); // 3_600_000 (at most an hour)
 * nextPruneDelay([0], 1_000); // 1_000
 * ```
 */
export function nextPruneDelay(
  notBefore: Iterable<number>,
  now: number,
): number | null {
  let soonest = Infinity;
  for (const t of notBefore) soonest = Math.min(soonest, t);
  if (soonest === Infinity) return null;
  return Math.min(
    PRUNE_MAX_DELAY_MS,
    Math.max(PRUNE_BUSY_MS, soonest - now),
  );
}

/**
 * How many of `messages` (a room's oldest excess messages, ascending `seq`)
 * retention deletes: the leading ones at or before `cutoff`. A room's `ts`
 * never decreases with `seq`, so the first younger one ends the run.
 *
 * @example
 * ```ts
 * prunableCount([{ ts: 1 }, { ts: 5 }, { ts: 2 }], 4); // 1
 * ```
 */
export function prunableCount(
  messages: readonly Pick<ChatMessage, "ts">[],
  cutoff: number,
): number {
  const young = messages.findIndex((m) => m.ts > cutoff);
  return young === -1 ? messages.length : young;
}

/**
 * The background sweep of {@link RetentionPolicy}: {@link note} each
 * committed append's room head, and passes run by themselves, or
 * {@link prune} runs one now. Deleting a message retention no longer keeps
 * is idempotent, so several processes sweeping one database need no
 * coordination.
 */
export class RetentionSweeper {
  readonly #due = new LruMap<string, Due>(MAX_DUE_ROOMS);
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<number> | null = null;
  #closed = false;

  constructor(
    private readonly kv: Deno.Kv,
    private readonly policy: RetentionPolicy,
    private readonly now: () => number,
  ) {}

  /** Records that `room` now ends at `lastSeq`; schedules a pass if it is past its count. */
  note(room: string, lastSeq: number): void {
    if (lastSeq <= this.policy.count || this.#closed) return;
    const due = this.#due.get(room);
    if (due) {
      due.lastSeq = Math.max(due.lastSeq, lastSeq);
    } else {
      this.#due.set(room, { lastSeq, notBefore: 0 });
    }
    if (this.#timer === undefined && this.#running === null) {
      this.#schedule(PRUNE_DELAY_MS);
    }
  }

  /**
   * One pass: deletes what retention no longer keeps in up to
   * {@link PRUNE_ROOMS_PER_PASS} due rooms. Returns the messages deleted.
   * Concurrent calls share one pass.
   */
  prune(): Promise<number> {
    if (this.#running) return this.#running;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const pass = this.#pass().finally(() => {
      this.#running = null;
      if (this.#closed) return;
      const delay = nextPruneDelay(
        [...this.#due.values()].map((d) => d.notBefore),
        this.now(),
      );
      if (delay !== null) this.#schedule(delay);
    });
    this.#running = pass;
    return pass;
  }

  /** Stops the passes; one under way finishes (or fails on the closed database). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(delay: number): void {
    const timer = setTimeout(() => {
      this.#timer = undefined;
      // A failed pass (the database busy or closed) is retried by the next one.
      this.prune().catch(() => {});
    }, delay);
    // Pending retention work never keeps the process alive.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  async #pass(): Promise<number> {
    const now = this.now();
    const cutoff = now - this.policy.minAgeMs;
    let deleted = 0;
    let visited = 0;
    for (const [room, due] of [...this.#due]) {
      if (visited === PRUNE_ROOMS_PER_PASS || this.#closed) break;
      if (due.notBefore > now) continue;
      visited++;
      const lastSeq = due.lastSeq;
      const oldest: ChatMessage[] = [];
      for await (
        const e of this.kv.list<ChatMessage>({
          start: ["msg", room, 0],
          end: ["msg", room, lastSeq - this.policy.count + 1],
        }, { limit: PRUNE_BATCH, batchSize: PRUNE_BATCH })
      ) oldest.push(e.value);
      const n = prunableCount(oldest, cutoff);
      for (let i = 0; i < n; i += PRUNE_DELETES_PER_OP) {
        const op = this.kv.atomic();
        for (
          const m of oldest.slice(i, Math.min(n, i + PRUNE_DELETES_PER_OP))
        ) {
          op.delete(["msg", room, m.seq]);
        }
        await op.commit();
      }
      deleted += n;
      if (n > 0) {
        // The room's events before its first kept message go with the messages
        // they changed: an event only ever targets an earlier message.
        const firstKept = n < oldest.length
          ? oldest[n].seq
          : oldest.length < PRUNE_BATCH
          ? lastSeq - this.policy.count + 1
          : oldest[n - 1].seq + 1;
        await deleteEventsBefore(this.kv, room, firstKept);
      }
      if (n < oldest.length) {
        // The oldest kept excess message comes of age then.
        due.notBefore = oldest[n].ts + this.policy.minAgeMs;
      } else if (oldest.length < PRUNE_BATCH && due.lastSeq === lastSeq) {
        // Done, and no append moved the room meanwhile.
        this.#due.delete(room);
      }
    }
    return deleted;
  }
}
