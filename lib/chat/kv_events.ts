/**
 * A group's short-lived event log in Deno KV, as the `kv` layer keeps it:
 * the keys, the stored shapes, and the pure steps around them (splitting a
 * frame into parts that fit a KV value, sizing a write batch within KV's
 * limits, reassembling what one range read returned and spotting gaps).
 * No I/O here; {@link ../chat/kv_layer.ts} does the reading and writing.
 *
 * Layout, per group: one head `[…, "head", group]` → {@link LogHead} (the
 * key every instance with local members watches), and the events
 * `[…, "event", group, seq, part]` → {@link EventPart}, written with the
 * head in one atomic operation and expiring soon after.
 *
 * @module
 */

/** First key part of everything the layer stores. */
const ROOT = "layer";

/** The head of a group's log: the last `seq` written, within an epoch. */
export interface LogHead {
  /** Last event written (1-based, gapless within the epoch). */
  seq: number;
  /**
   * Random id given when the head is created. Heads expire when a group is
   * idle; a recreated head restarts at 1 with a new epoch, so a reader that
   * remembered an older `seq` knows to start over rather than wait.
   */
  epoch: string;
}

/** One stored part of an event. */
export interface EventPart {
  /** Instance id of the sender: its own local members already had the frame. */
  from: string;
  /** This part of the serialized frame. */
  frame: string;
  /** How many parts the event has (the same on every part). */
  parts: number;
}

/**
 * UTF-16 units per stored part. V8 serializes a string at up to 2 bytes a
 * unit, so a part stays under KV's 64 KiB value limit with room for the rest
 * of the record.
 */
export const PART_CHARS = 16_000;
/**
 * Longest frame the log carries (about 16 parts). A bigger one (a presence
 * diff of thousands of joins) goes out as a `resync` instead: readers repair
 * from the store, and a batch always fits KV's 800 KB per atomic write.
 */
export const MAX_EVENT_CHARS = 256_000;
/**
 * Most groups one atomic write touches: one version check per group, and
 * self-hosted `denokv` (KV Connect) allows 10 checks per write (the CLI's
 * local KV allows 100).
 */
export const MAX_BATCH_GROUPS = 10;
/**
 * Most parts per atomic write. Each part is one mutation and one key of up to
 * ~200 bytes; KV allows 1,000 mutations and 80 KiB of keys per write.
 */
export const MAX_BATCH_PARTS = 256;
/** Frame chars per atomic write (≤ 2 bytes each): well under KV's 800 KB per write. */
export const MAX_BATCH_CHARS = 300_000;

/** The key of `group`'s head in `namespace`. */
export function headKey(namespace: string, group: string): Deno.KvKey {
  return [ROOT, namespace, "head", group];
}

/** The key of one part of event `seq` of `group`. */
export function partKey(
  namespace: string,
  group: string,
  seq: number,
  part: number,
): Deno.KvKey {
  return [ROOT, namespace, "event", group, seq, part];
}

/**
 * The range selector of `group`'s events with `after < seq ≤ upTo`.
 *
 * @example
 * ```ts
 * kv.list<EventPart>(eventRange("roomcast", "lobby", 4, 9)); // seq 5…9
 * ```
 */
export function eventRange(
  namespace: string,
  group: string,
  after: number,
  upTo: number,
): { start: Deno.KvKey; end: Deno.KvKey } {
  return {
    start: [ROOT, namespace, "event", group, after + 1],
    end: [ROOT, namespace, "event", group, upTo + 1],
  };
}

/** `value` if it is a {@link LogHead} (a watch hands back whatever is stored), else null. */
export function asLogHead(value: unknown): LogHead | null {
  if (typeof value !== "object" || value === null) return null;
  const { seq, epoch } = value as Partial<LogHead>;
  return Number.isSafeInteger(seq) && seq! >= 0 && typeof epoch === "string"
    ? { seq: seq!, epoch }
    : null;
}

/**
 * Splits `frame` into parts of at most `partChars` UTF-16 units, never
 * between the two halves of a surrogate pair.
 *
 * @example
 * ```ts
 * splitFrame("abcdef", 4); // ["abcd", "ef"]
 * ```
 */
export function splitFrame(
  frame: string,
  partChars: number = PART_CHARS,
): string[] {
  if (frame.length <= partChars) return [frame];
  const parts: string[] = [];
  let at = 0;
  while (at < frame.length) {
    let end = Math.min(frame.length, at + partChars);
    const last = frame.charCodeAt(end - 1);
    // A high surrogate at the cut: keep it with its low half.
    if (end < frame.length && last >= 0xd800 && last <= 0xdbff) end--;
    parts.push(frame.slice(at, end));
    at = end;
  }
  return parts;
}

/**
 * How many sends from the front of `queue` fit in one atomic write: at most
 * {@link MAX_BATCH_GROUPS} groups, {@link MAX_BATCH_PARTS} parts (plus a head
 * per group) and {@link MAX_BATCH_CHARS} chars. Always at least one.
 */
export function batchSize(
  queue: readonly { group: string; parts: readonly string[] }[],
): number {
  const groups = new Set<string>();
  let parts = 0;
  let chars = 0;
  let n = 0;
  for (const send of queue) {
    const moreGroups = groups.has(send.group) ? 0 : 1;
    const size = send.parts.reduce((sum, p) => sum + p.length, 0);
    if (
      n > 0 &&
      (groups.size + moreGroups > MAX_BATCH_GROUPS ||
        parts + send.parts.length + groups.size + moreGroups >
          MAX_BATCH_PARTS ||
        chars + size > MAX_BATCH_CHARS)
    ) break;
    groups.add(send.group);
    parts += send.parts.length;
    chars += size;
    n++;
  }
  return Math.max(1, n);
}

/** One stored part as a range read returns it. */
export interface ReadPart {
  seq: number;
  part: number;
  value: EventPart;
}

/** A whole event reassembled from its parts. */
export interface LoggedEvent {
  seq: number;
  from: string;
  frame: string;
}

/** What {@link assembleEvents} makes of one range read. */
export interface Assembled {
  /** Whole events after `after`, in `seq` order. */
  events: LoggedEvent[];
  /** The reader's new position: every `seq` up to it is delivered or known lost. */
  last: number;
  /** Events in `(after, last]` that are gone (expired before they were read). */
  missing: number;
}

/**
 * Reassembles the events of one range read of `(after, upTo]`, which returned
 * `parts` in key order. `complete` says the read returned everything in the
 * range (it stopped below its limit): then any `seq` not found is lost, and
 * the reader moves to `upTo`. Otherwise the read was cut short: an event whose
 * parts were cut off is left for the next read.
 *
 * @example
 * ```ts
 * const part = (seq: number) => ({ seq, part: 0, value: { from: "a", frame: `f${seq}`, parts: 1 } });
 * assembleEvents([part(2), part(4)], 1, 4, true);
 * // { events: [seq 2, seq 4], last: 4, missing: 1 }   (seq 3 expired)
 * ```
 */
export function assembleEvents(
  parts: readonly ReadPart[],
  after: number,
  upTo: number,
  complete: boolean,
): Assembled {
  const events: LoggedEvent[] = [];
  let last = after;
  let missing = 0;
  let i = 0;
  while (i < parts.length) {
    const seq = parts[i].seq;
    let j = i;
    while (j < parts.length && parts[j].seq === seq) j++;
    const group = parts.slice(i, j);
    i = j;
    if (seq <= last || seq > upTo) continue;
    // Parts beyond the count (left by an older, longer event of a recreated
    // log) are not this event's.
    const count = group[0].value.parts;
    const own = group.filter((p) => p.part < count);
    const whole = own.length === count &&
      own.every((p, k) => p.part === k && p.value.parts === count);
    // Cut off by the read's limit: the next read starts with this event.
    if (!whole && !complete && j === parts.length) break;
    missing += seq - last - 1;
    last = seq;
    if (!whole) {
      missing++;
      continue;
    }
    events.push({
      seq,
      from: group[0].value.from,
      frame: count === 1
        ? own[0].value.frame
        : own.map((p) => p.value.frame).join(""),
    });
  }
  if (complete && last < upTo) {
    missing += upTo - last;
    last = upTo;
  }
  return { events, last, missing };
}
