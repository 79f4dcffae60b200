/**
 * RoomClient without a browser: a fake socket the test plays the server on,
 * a fake clock whose timers run only when the test advances it, a Map as
 * storage and an EventTarget as the window.
 */
import assert from "node:assert/strict";
import {
  BANNED_NOTICE,
  DEFAULT_RETRY_AFTER_MS,
  FLOOD_CLOSED_NOTICE,
  FLOOD_PAUSE_MS,
  HEARTBEAT_INTERVAL_MS,
  KICKED_NOTICE,
  NO_ACCESS_NOTICE,
  PONG_TIMEOUT_MS,
  type RoomClientOptions,
  type RoomEvent,
  SESSION_ENDED_NOTICE,
  SIGNED_OUT_ELSEWHERE_NOTICE,
  SIGNED_OUT_NOTICE,
  TOO_FAST_NOTICE,
} from "../../../lib/chat/client/room_client.ts";
import { PACE_SHARE } from "../../../lib/chat/client/pacer.ts";
import { RoomClient } from "../../../lib/chat/client/room_client.ts";
import type {
  Clock,
  SessionCheck,
  WebSocketLike,
} from "../../../lib/chat/client/dependencies.ts";
import {
  legacyOutboxKey,
  outboxKey,
  type StorageLike,
} from "../../../lib/chat/client/outbox.ts";
import type {
  SessionChannel,
  SessionEvent,
} from "../../../lib/chat/client/session_channel.ts";
import { reconnectDelay } from "../../../lib/chat/backoff.ts";
import {
  type ClientFrame,
  DEFAULT_PAGE_SIZE,
  MAX_MESSAGE_CHARS,
  type ServerFrame,
  TYPING_THROTTLE_MS,
  TYPING_TTL_MS,
} from "../../../lib/chat/protocol.ts";
import { foldEvent } from "../../../lib/chat/events.ts";
import { presenceOf } from "../../../lib/chat/presence.ts";
import { CloseCode } from "../../../lib/shared.ts";
import type { ChatMessage, ChatUser } from "../../../lib/chat/types.ts";

const ROOM = "general";
const URL_ = "ws://127.0.0.1:1/ws/chat/general";
const ana: ChatUser = { id: "guest:ana", name: "Ana", kind: "guest" };
const ben: ChatUser = { id: "guest:ben", name: "Ben", kind: "guest" };
/** The fake `random()`: reconnect delays are then `reconnectDelay(n, JITTER)`. */
const JITTER = 0.5;

function m(seq: number, user = ben, clientId = `c-${seq}`): ChatMessage {
  return {
    id: `id-${seq}`,
    seq,
    room: ROOM,
    user,
    text: `message ${seq}`,
    ts: 1_700_000_000_000 + seq,
    clientId,
  };
}

function range(from: number, to: number): ChatMessage[] {
  return Array.from({ length: to - from + 1 }, (_, i) => m(from + i));
}

/** A socket the test answers for the server. */
class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly sent: ClientFrame[] = [];
  /** When each frame in {@link sent} went out, by the test's clock. */
  readonly sentAt: number[] = [];
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  closedByClient = false;

  constructor(readonly url: string, readonly clock?: Clock) {}

  send(data: string): void {
    assert.equal(this.readyState, 1, "sent on a socket that is not open");
    this.sent.push(JSON.parse(data));
    this.sentAt.push(this.clock?.now() ?? 0);
  }

  close(): void {
    this.closedByClient = true;
    this.readyState = 3;
  }

  /** The server accepted the connection. */
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }

  /** A frame from the server (an object is serialized, a string sent as is). */
  receive(frame: ServerFrame | string): void {
    const data = typeof frame === "string" ? frame : JSON.stringify(frame);
    this.onmessage?.(new MessageEvent("message", { data }));
  }

  /** The server (or the network: 1006) closed the connection. */
  drop(code: number = CloseCode.restart): void {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code }));
  }

  /** The frames sent of one type. */
  sentOf<T extends ClientFrame["type"]>(
    type: T,
  ): Extract<ClientFrame, { type: T }>[] {
    return this.sent.filter((f): f is Extract<ClientFrame, { type: T }> =>
      f.type === type
    );
  }
}

/** Time stands still until the test advances it; due timers then run in order. */
class FakeClock implements Clock {
  #now = 1_800_000_000_000;
  #nextId = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }

  clearTimeout(id: unknown): void {
    this.#timers.delete(id as number);
  }

  /** Delays (from now) of the timers still to run, soonest first. */
  scheduled(): number[] {
    return [...this.#timers.values()].map((t) => t.at - this.#now)
      .sort((a, b) => a - b);
  }

  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const due = [...this.#timers.entries()]
        .filter(([, t]) => t.at <= until)
        .sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].fn();
    }
    this.#now = until;
  }
}

class MemoryStorage implements StorageLike {
  readonly map = new Map<string, string>();
  get length(): number {
    return this.map.size;
  }
  key(index: number): string | null {
    return [...this.map.keys()][index] ?? null;
  }
  getItem(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.map.set(key, value);
  }
  removeItem(key: string): void {
    this.map.delete(key);
  }
}

/**
 * The browser's other tabs: every end posts to all the others, at once.
 * `otherTab` is one more end, for the test to post and listen on.
 */
class FakeSessionHub {
  readonly #ends = new Set<(event: SessionEvent) => void>();

  end(): SessionChannel & { heard: SessionEvent[] } {
    const listeners = new Set<(event: SessionEvent) => void>();
    const deliver = (event: SessionEvent) => {
      for (const l of [...listeners]) l(event);
    };
    const heard: SessionEvent[] = [];
    listeners.add((e) => heard.push(e));
    this.#ends.add(deliver);
    return {
      heard,
      post: (event) => {
        for (const end of this.#ends) if (end !== deliver) end(event);
      },
      subscribe: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
  }
}

/** Session checks the test answers one by one. */
class FakeSessionChecks {
  readonly asked: ((answer: SessionCheck) => void)[] = [];
  #pending: Promise<SessionCheck> | null = null;

  check = (): Promise<SessionCheck> => {
    this.#pending = new Promise((resolve) => this.asked.push(resolve));
    return this.#pending;
  };

  /** Answers the latest check; resolves after the client has acted on it. */
  async answer(answer: SessionCheck): Promise<void> {
    const resolve = this.asked.at(-1);
    assert.ok(resolve && this.#pending, "no session check was asked");
    resolve(answer);
    await this.#pending;
  }
}

function setup(
  options: Partial<RoomClientOptions> = {},
  storage = new MemoryStorage(),
) {
  const sockets: FakeSocket[] = [];
  const clock = new FakeClock();
  const network = new EventTarget();
  const hub = new FakeSessionHub();
  const sessionChecks = new FakeSessionChecks();
  let online = true;
  const logs: string[] = [];
  let ids = 0;
  const client = new RoomClient(
    {
      room: ROOM,
      url: URL_,
      user: ana,
      history: [],
      hasMore: false,
      ...options,
    },
    {
      connect: (url) => {
        const socket = new FakeSocket(url, clock);
        sockets.push(socket);
        return socket;
      },
      clock,
      random: () => JITTER,
      storage,
      network,
      online: () => online,
      checkSession: sessionChecks.check,
      session: hub.end(),
      newId: () => `local-${++ids}`,
      log: (message) => logs.push(message),
    },
  );
  const events: RoomEvent[] = [];
  client.subscribe((e) => events.push(e));
  /** Another tab of the same browser. */
  const otherTab = hub.end();
  return {
    client,
    sockets,
    clock,
    network,
    storage,
    logs,
    events,
    sessionChecks,
    otherTab,
    /** The browser lost (false) or regained (true) its network. */
    setOnline(value: boolean) {
      online = value;
      network.dispatchEvent(new Event(value ? "online" : "offline"));
    },
    /** The socket opened last. */
    get socket(): FakeSocket {
      const s = sockets.at(-1);
      assert.ok(s, "no socket opened");
      return s;
    },
    /** Events of one type, in order. */
    eventsOf<T extends RoomEvent["type"]>(type: T) {
      return events.filter((e): e is Extract<RoomEvent, { type: T }> =>
        e.type === type
      );
    },
  };
}

function welcome(
  history: ChatMessage[],
  lastSeq = history.at(-1)?.seq ?? 0,
  you: ChatUser = ana,
): ServerFrame {
  return {
    type: "welcome",
    you,
    room: ROOM,
    history,
    hasMore: false,
    lastSeq,
    rate: { burst: 20, perSecond: 2 },
  };
}

/** The welcome of a socket opened with `?after=resumeFrom`: no history, an answer to follow. */
/** The server refusing a `refused` frame as too fast (`retryAfter` ms, if given). */
function tooFast(
  refused: "resume" | "history",
  retryAfter?: number,
): ServerFrame {
  return {
    type: "error",
    code: "rate_limited",
    message: "You are sending too fast.",
    ...(retryAfter === undefined ? {} : { retryAfter }),
    refused,
  } as ServerFrame;
}

function resumedWelcome(resumeFrom: number, lastSeq: number): ServerFrame {
  return {
    type: "welcome",
    you: ana,
    room: ROOM,
    history: [],
    hasMore: false,
    lastSeq,
    resumeFrom,
    rate: { burst: 20, perSecond: 2 },
  };
}

/** A client started, its socket open and welcomed with `history`. */
function live(history: ChatMessage[] = range(1, 2), options = {}) {
  const t = setup({ history, ...options });
  t.client.start();
  t.socket.open();
  t.socket.receive(welcome(history));
  assert.equal(t.client.view.status, "live");
  return t;
}

const seqs = (t: { client: RoomClient }) =>
  t.client.view.messages.map((x) => x.seq);

Deno.test("room client: connects, and is live once welcomed", () => {
  const t = setup({ history: range(1, 2), hasMore: true });
  // The server-rendered history is there before any socket.
  assert.deepEqual(seqs(t), [1, 2]);
  assert.equal(t.client.view.status, "connecting");
  assert.equal(t.client.view.olderAvailable, true);
  assert.equal(t.sockets.length, 0);

  t.client.start();
  assert.equal(t.sockets.length, 1);
  // The rendered history is held: the socket says so (see the ?after= tests).
  assert.equal(t.socket.url, `${URL_}?after=2`);
  t.socket.open();
  assert.equal(t.client.view.status, "connecting", "open is not welcomed");
  t.socket.receive(welcome([...range(1, 2), m(3)]));
  assert.equal(t.client.view.status, "live");
  assert.deepEqual(seqs(t), [1, 2, 3]);
  const change = t.eventsOf("change").at(-1)!;
  assert.equal(change.view, t.client.view);
  assert.deepEqual(change.timeline, {
    direction: "newer",
    mine: false,
    added: 1,
  });
  // Nothing was missing: no resume.
  assert.deepEqual(t.socket.sent, []);
});

Deno.test("room client: a closed socket reconnects after jittered, growing backoff delays", () => {
  const t = live();
  t.socket.drop();
  assert.equal(t.client.view.status, "reconnecting");
  assert.deepEqual(t.clock.scheduled(), [reconnectDelay(0, JITTER)]);

  // Each failed attempt waits longer.
  for (const attempt of [1, 2, 3]) {
    const delay = reconnectDelay(attempt - 1, JITTER);
    t.clock.advance(delay - 1);
    assert.equal(t.sockets.length, attempt, "not before the delay");
    t.clock.advance(1);
    assert.equal(t.sockets.length, attempt + 1, "a new socket after it");
    assert.equal(t.client.view.status, "reconnecting");
    t.socket.drop();
    assert.deepEqual(t.clock.scheduled(), [reconnectDelay(attempt, JITTER)]);
  }
  assert.ok(reconnectDelay(3, JITTER) > reconnectDelay(0, JITTER));

  // A socket that opens starts the count over, even if it closes before welcome.
  t.clock.advance(reconnectDelay(3, JITTER));
  t.socket.open();
  t.socket.drop();
  assert.deepEqual(t.clock.scheduled(), [reconnectDelay(0, JITTER)]);

  // And the next one is live again.
  t.clock.advance(reconnectDelay(0, JITTER));
  t.socket.open();
  t.socket.receive(welcome(range(1, 2)));
  assert.equal(t.client.view.status, "live");
  // Live, only the heartbeat is due.
  assert.deepEqual(t.clock.scheduled(), [HEARTBEAT_INTERVAL_MS]);
  const statuses = t.eventsOf("change").map((e) => e.view.status)
    .filter((s, i, all) => s !== all[i - 1]);
  assert.deepEqual(statuses, ["connecting", "live", "reconnecting", "live"]);
});

Deno.test("room client: going back online reconnects at once instead of waiting out the backoff", () => {
  const t = live();
  t.socket.drop();
  assert.equal(t.sockets.length, 1);
  t.network.dispatchEvent(new Event("online"));
  assert.equal(t.sockets.length, 2);
  assert.deepEqual(t.clock.scheduled(), [], "the backoff timer is cancelled");
  // While a socket is trying, `online` changes nothing.
  t.network.dispatchEvent(new Event("online"));
  assert.equal(t.sockets.length, 2);
  t.socket.open();
  t.socket.receive(welcome(range(1, 2)));
  assert.equal(t.client.view.status, "live");
});

Deno.test("room client: a seq that skips ahead asks for the gap with resume, and the answer fills it", () => {
  const t = live(range(1, 2));
  t.socket.receive({ type: "message", message: m(5) });
  assert.deepEqual(seqs(t), [1, 2, 5]);
  assert.deepEqual(t.socket.sentOf("resume"), [{ type: "resume", after: 2 }]);

  // One resume at a time: another gap waits for the answer.
  t.socket.receive({ type: "message", message: m(8) });
  assert.equal(t.socket.sentOf("resume").length, 1);

  t.socket.receive({
    type: "history",
    direction: "newer",
    messages: range(3, 6),
    hasMore: false,
  });
  assert.deepEqual(seqs(t), [1, 2, 3, 4, 5, 6, 8]);
  // 7 is still missing: the next resume goes out now.
  assert.deepEqual(t.socket.sentOf("resume").at(-1), {
    type: "resume",
    after: 6,
  });
  t.socket.receive({
    type: "history",
    direction: "newer",
    messages: [m(7), m(8)],
    hasMore: false,
  });
  assert.deepEqual(seqs(t), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(t.socket.sentOf("resume").length, 2, "no gap, no resume");
});

Deno.test("room client: a welcome after a reconnect owes what was missed meanwhile", () => {
  const t = live(range(1, 2));
  t.socket.drop();
  t.clock.advance(reconnectDelay(0, JITTER));
  t.socket.open();
  // The room moved on to 5 while this client was away; its welcome shows only 4–5.
  t.socket.receive(welcome([m(4), m(5)], 5));
  assert.deepEqual(t.socket.sentOf("resume"), [{ type: "resume", after: 2 }]);
  t.socket.receive({
    type: "history",
    direction: "newer",
    messages: range(3, 5),
    hasMore: false,
  });
  assert.deepEqual(seqs(t), [1, 2, 3, 4, 5]);
});

Deno.test("room client: a resync while a resume is answered asks again afterwards", () => {
  const t = live(range(1, 2));
  // A resync with nothing missing still asks: broadcasts may have been lost.
  t.socket.receive({ type: "resync" });
  assert.deepEqual(t.socket.sentOf("resume"), [{ type: "resume", after: 2 }]);

  // Another resync while that resume is in flight: its answer may predate the loss.
  t.socket.receive({ type: "resync" });
  t.socket.receive({ type: "resync" });
  assert.equal(t.socket.sentOf("resume").length, 1, "one at a time");
  t.socket.receive({
    type: "history",
    direction: "newer",
    messages: [m(3)],
    hasMore: false,
  });
  assert.deepEqual(t.socket.sentOf("resume"), [
    { type: "resume", after: 2 },
    { type: "resume", after: 3 },
  ]);
  // That second answer owes nothing more.
  t.socket.receive({
    type: "history",
    direction: "newer",
    messages: [],
    hasMore: false,
  });
  assert.equal(t.socket.sentOf("resume").length, 2);
  assert.deepEqual(seqs(t), [1, 2, 3]);
});

Deno.test("room client: a socket that closes with a resume in flight asks afresh on the next welcome", () => {
  const t = live(range(1, 2));
  t.socket.receive({ type: "message", message: m(4) });
  assert.equal(t.socket.sentOf("resume").length, 1);
  t.socket.drop();
  t.clock.advance(reconnectDelay(0, JITTER));
  t.socket.open();
  t.socket.receive(welcome([m(4)], 4));
  assert.deepEqual(t.socket.sentOf("resume"), [{ type: "resume", after: 2 }]);
});

Deno.test("room client: every socket says how far its timeline holds the room's log (?after=)", () => {
  // The rendered history starts the timeline, so the first socket says it.
  const empty = setup({ history: [] });
  empty.client.start();
  assert.equal(empty.socket.url, `${URL_}?after=0`);

  const t = live(range(1, 2));
  assert.equal(t.socket.url, `${URL_}?after=2`);
  t.socket.receive({ type: "message", message: m(3) });
  // 4 is missing: the log is held up to 3 only.
  t.socket.receive({ type: "message", message: m(5) });
  t.socket.drop();
  t.clock.advance(reconnectDelay(0, JITTER));
  assert.equal(t.sockets.length, 2);
  assert.equal(t.socket.url, `${URL_}?after=3`);
});

/** An edit of message 3, stored as seq 5. */
const edit3: Extract<ServerFrame, { type: "event" }>["event"] = {
  kind: "edit",
  seq: 5,
  target: 3,
  text: "message 3, edited",
  room: ROOM,
  user: ben,
  ts: 1_700_000_000_005,
  clientId: "e-5",
};

Deno.test("room client: a welcome with resumeFrom: the server's answer is awaited, never asked for again, and applied as a resume answer", () => {
  const t = setup({ history: range(1, 2) });
  t.client.start();
  t.socket.open();
  t.socket.receive(resumedWelcome(2, 6));
  assert.equal(t.client.view.status, "live");
  assert.deepEqual(seqs(t), [1, 2]);
  // A gap (3–6, and now 7 live): the answer on its way fills it.
  t.socket.receive({ type: "message", message: m(7) });
  t.socket.receive({ type: "resync" });
  assert.deepEqual(t.socket.sentOf("resume"), [], "no resume of its own");
  const answer: ServerFrame = {
    type: "history",
    direction: "newer",
    messages: [m(3), m(4), m(6)],
    events: [edit3],
    hasMore: false,
  };
  t.socket.receive(answer);
  assert.deepEqual(seqs(t), [1, 2, 3, 4, 6, 7]);
  // The resync came while the answer was on its way: asked once more after it.
  assert.deepEqual(t.socket.sentOf("resume"), [{ type: "resume", after: 7 }]);

  // A client welcomed with the latest page (folded) ends the same.
  const full = setup({ history: range(1, 2) });
  full.client.start();
  full.socket.open();
  full.socket.receive(welcome([foldEvent(m(3), edit3), m(4), m(6)]));
  assert.deepEqual(full.socket.sentOf("resume"), [{
    type: "resume",
    after: 4,
  }]);
  full.socket.receive({
    type: "history",
    direction: "newer",
    messages: [m(6)],
    events: [edit3],
    hasMore: false,
  });
  full.socket.receive({ type: "message", message: m(7) });
  assert.deepEqual(t.client.view.messages, full.client.view.messages);
});

Deno.test("room client: the server's answer to ?after= with more to come is paged on with resume; refused as too fast, it is asked again", () => {
  const t = setup({ history: range(1, 2) });
  t.client.start();
  t.socket.open();
  t.socket.receive(resumedWelcome(2, 9));
  t.socket.receive(tooFast("resume", 300));
  assert.deepEqual(t.socket.sentOf("resume"), []);
  t.clock.advance(300);
  assert.deepEqual(t.socket.sentOf("resume"), [{ type: "resume", after: 2 }]);
  t.socket.receive({
    type: "history",
    direction: "newer",
    messages: range(3, 5),
    hasMore: true,
  });
  assert.deepEqual(t.socket.sentOf("resume").at(-1), {
    type: "resume",
    after: 5,
  });
  t.socket.receive({
    type: "history",
    direction: "newer",
    messages: range(6, 9),
    hasMore: false,
  });
  assert.deepEqual(seqs(t), range(1, 9).map((x) => x.seq));
  assert.equal(t.socket.sentOf("resume").length, 2);
});

Deno.test("room client: a message written offline is kept, sent once after welcome, and confirmed", () => {
  const t = live(range(1, 2));
  t.socket.drop();
  assert.equal(t.client.post("  written offline  "), true);
  const pending = t.client.view.pending;
  assert.deepEqual(pending.map((p) => [p.clientId, p.text, p.ts]), [
    ["local-1", "written offline", t.clock.now()],
  ]);
  // Persisted: a reload would still have it.
  assert.deepEqual(
    JSON.parse(t.storage.getItem(outboxKey(ROOM))!),
    pending,
  );

  t.clock.advance(reconnectDelay(0, JITTER));
  t.socket.open();
  assert.deepEqual(t.socket.sent, [], "nothing before welcome");
  t.socket.receive(welcome(range(1, 2)));
  assert.deepEqual(t.socket.sentOf("message"), [
    { type: "message", text: "written offline", clientId: "local-1" },
  ]);
  // Only the welcome flushes: other frames do not send it again.
  t.socket.receive({ type: "presence", state: presenceOf(ana, "c", 1) });
  t.socket.receive({ type: "message", message: m(3) });
  assert.equal(t.socket.sentOf("message").length, 1);
  assert.equal(t.client.view.pending.length, 1);

  // The server's copy arrives: no longer pending, and the storage is empty.
  t.socket.receive({ type: "message", message: m(4, ana, "local-1") });
  assert.deepEqual(t.client.view.pending, []);
  assert.equal(t.storage.getItem(outboxKey(ROOM)), null);
  const change = t.eventsOf("change").at(-1)!;
  assert.deepEqual(change.timeline, {
    direction: "newer",
    mine: true,
    added: 1,
  });
  // Your own message is not "incoming".
  assert.deepEqual(
    t.eventsOf("incoming").map((e) => e.message.seq),
    [3],
  );
});

Deno.test("room client: a pending message already in the welcome's history is not sent again", () => {
  const storage = new MemoryStorage();
  const saved = [{ clientId: "lost-ack", text: "sent, ack lost", ts: 1 }, {
    clientId: "never-sent",
    text: "still to send",
    ts: 2,
  }];
  storage.setItem(outboxKey(ROOM), JSON.stringify(saved));
  const t = setup({ history: range(1, 2) }, storage);
  t.client.start();
  // The outbox survived the reload.
  assert.deepEqual(t.client.view.pending, saved);
  t.socket.open();
  t.socket.receive(welcome([...range(1, 2), m(3, ana, "lost-ack")]));
  assert.deepEqual(t.client.view.pending, [saved[1]]);
  assert.deepEqual(t.socket.sentOf("message"), [
    { type: "message", text: "still to send", clientId: "never-sent" },
  ]);
  // A resume answer that holds it confirms it too.
  t.socket.receive({ type: "resync" });
  t.socket.receive({
    type: "history",
    direction: "newer",
    messages: [m(4, ana, "never-sent")],
    hasMore: false,
  });
  assert.deepEqual(t.client.view.pending, []);
  assert.equal(storage.getItem(outboxKey(ROOM)), null);
});

Deno.test("room client: a message posted while live goes out at once; blank or too long is refused", () => {
  const t = live();
  assert.equal(t.client.post("hello"), true);
  assert.deepEqual(t.socket.sentOf("message"), [
    { type: "message", text: "hello", clientId: "local-1" },
  ]);
  assert.equal(t.client.view.pending.length, 1);

  assert.equal(t.client.post("   "), false);
  assert.equal(t.client.post("x".repeat(MAX_MESSAGE_CHARS + 1)), false);
  assert.equal(
    t.client.view.notice,
    `Messages are limited to ${MAX_MESSAGE_CHARS} characters.`,
  );
  assert.equal(t.socket.sentOf("message").length, 1);
  assert.equal(t.client.view.pending.length, 1);
});

Deno.test("room client: an unreadable saved outbox counts as empty", () => {
  const storage = new MemoryStorage();
  storage.setItem(outboxKey(ROOM), "{not json");
  const t = setup({}, storage);
  t.client.start();
  assert.deepEqual(t.client.view.pending, []);
});

Deno.test("room client: a terminal close signs out and never reconnects", () => {
  const t = live();
  t.client.loadOlder();
  t.socket.drop(CloseCode.sessionEnded);
  assert.equal(t.client.view.status, "signed-out");
  assert.equal(t.client.view.notice, SESSION_ENDED_NOTICE);
  assert.equal(t.client.view.loadingOlder, false);
  assert.deepEqual(t.clock.scheduled(), []);
  t.network.dispatchEvent(new Event("online"));
  t.clock.advance(60_000);
  assert.equal(t.sockets.length, 1);
  // Writing still keeps the message (for after signing in again).
  assert.equal(t.client.post("later"), true);
  assert.equal(t.client.view.pending.length, 1);
});

Deno.test("room client: typing is sent at most once per throttle window, and not for blank drafts", () => {
  const t = live();
  t.client.typed("h");
  assert.equal(t.socket.sentOf("typing").length, 1);
  t.clock.advance(TYPING_THROTTLE_MS - 1);
  t.client.typed("he");
  assert.equal(t.socket.sentOf("typing").length, 1);
  t.clock.advance(1);
  t.client.typed("hel");
  assert.equal(t.socket.sentOf("typing").length, 2);
  t.clock.advance(TYPING_THROTTLE_MS);
  t.client.typed("   ");
  assert.equal(t.socket.sentOf("typing").length, 2, "blank");

  // Sending a message does not start the window over: quick messages with
  // typing between them stay within the server's typing budget.
  t.client.typed("hello");
  assert.equal(t.socket.sentOf("typing").length, 3);
  t.client.post("hello");
  t.client.typed("a");
  assert.equal(t.socket.sentOf("typing").length, 3);
  t.clock.advance(TYPING_THROTTLE_MS);
  t.client.typed("ab");
  assert.equal(t.socket.sentOf("typing").length, 4);

  // Without an open socket nothing is sent, and the next chance is not used up.
  t.socket.drop();
  t.clock.advance(TYPING_THROTTLE_MS);
  assert.equal(t.sockets.length, 2, "reconnecting");
  t.client.typed("b");
  t.socket.open();
  t.client.typed("bc");
  assert.equal(t.sockets[1].sentOf("typing").length, 1);
});

Deno.test("room client: someone typing shows until the ttl runs out or their message arrives", () => {
  const t = live();
  const typing = (userId: string, name: string): ServerFrame => ({
    type: "typing",
    userId,
    name,
    ttl: TYPING_TTL_MS,
  });
  t.socket.receive(typing(ben.id, "Ben"));
  t.clock.advance(1_000);
  t.socket.receive(typing("guest:cy", "Cy"));
  assert.deepEqual(t.client.view.typing, ["Ben", "Cy"]);

  t.clock.advance(TYPING_TTL_MS - 1_001);
  assert.deepEqual(t.client.view.typing, ["Ben", "Cy"]);
  t.clock.advance(1);
  assert.deepEqual(t.client.view.typing, ["Cy"], "Ben's ran out");

  // A refresh keeps Cy's place and extends it; a message ends it at once.
  t.socket.receive(typing("guest:cy", "Cy"));
  t.clock.advance(TYPING_TTL_MS - 1);
  assert.deepEqual(t.client.view.typing, ["Cy"]);
  t.socket.receive({
    type: "message",
    message: m(3, { id: "guest:cy", name: "Cy", kind: "guest" }),
  });
  assert.deepEqual(t.client.view.typing, []);
  // The stale expiry check, and the heartbeat (the test is 2 ttls in, less 1 ms).
  const heartbeatDue = HEARTBEAT_INTERVAL_MS - (2 * TYPING_TTL_MS - 1);
  assert.deepEqual(t.clock.scheduled(), [1, heartbeatDue]);
  t.clock.advance(1);
  assert.deepEqual(t.clock.scheduled(), [heartbeatDue - 1]);
});

Deno.test("room client: presence state is silent; joins and leaves are announced, never your own", () => {
  const t = live();
  t.socket.receive({ type: "presence", state: presenceOf(ana, "a1", 1) });
  assert.deepEqual(Object.keys(t.client.view.presence), [ana.id]);
  assert.deepEqual(t.eventsOf("activity"), []);

  t.socket.receive({ type: "presence", joins: presenceOf(ana, "a2", 2) });
  assert.deepEqual(t.eventsOf("activity"), [], "your second tab");
  t.clock.advance(10);
  t.socket.receive({ type: "presence", joins: presenceOf(ben, "b1", 3) });
  assert.deepEqual(t.eventsOf("activity"), [
    { type: "activity", text: "Ben joined", at: t.clock.now() },
  ]);
  t.socket.receive({ type: "presence", leaves: presenceOf(ben, "b1", 3) });
  assert.equal(t.eventsOf("activity").at(-1)!.text, "Ben left");
  assert.deepEqual(Object.keys(t.client.view.presence), [ana.id]);
});

Deno.test("room client: older pages load one at a time, before the oldest message shown", () => {
  const t = live(range(51, 100), { hasMore: true });
  t.client.loadOlder();
  t.client.loadOlder();
  assert.deepEqual(t.socket.sentOf("history"), [
    { type: "history", before: 51, limit: DEFAULT_PAGE_SIZE },
  ]);
  assert.equal(t.client.view.loadingOlder, true);
  t.socket.receive({
    type: "history",
    direction: "older",
    messages: range(1, 50),
    hasMore: false,
  });
  assert.equal(seqs(t).length, 100);
  assert.equal(t.client.view.olderAvailable, false);
  assert.equal(t.client.view.loadingOlder, false);
  assert.deepEqual(t.eventsOf("change").at(-1)!.timeline, {
    direction: "older",
    mine: false,
    added: 50,
  });
  // Older pages are not gaps: no resume.
  assert.deepEqual(t.socket.sentOf("resume"), []);

  // A request on a socket that closes is forgotten, so it can be asked again.
  t.client.loadOlder();
  t.socket.drop();
  assert.equal(t.client.view.loadingOlder, false);
});

const ROOM_INFO = {
  room: "r",
  owner: { id: "google:1", name: "Owen" },
  settings: {
    title: "",
    topic: "Cats",
    visibility: "public" as const,
    postPolicy: "everyone" as const,
    slowModeSeconds: 0,
    guestsAllowed: true,
  },
  created: 1,
  updated: 1,
};

Deno.test("room client: every server frame type has its effect; bad frames are logged and ignored", () => {
  const t = live(range(1, 2));
  const before = t.events.length;
  // One entry per frame type: adding a type to ServerFrame fails to type-check here.
  const effects: { [K in ServerFrame["type"]]: () => void } = {
    welcome: () => {
      t.socket.receive(welcome(range(1, 3)));
      assert.deepEqual(seqs(t), [1, 2, 3]);
    },
    message: () => {
      t.socket.receive({ type: "message", message: m(4) });
      assert.deepEqual(seqs(t), [1, 2, 3, 4]);
    },
    history: () => {
      t.socket.receive({
        type: "history",
        direction: "newer",
        messages: [m(5)],
        hasMore: false,
      });
      assert.deepEqual(seqs(t), [1, 2, 3, 4, 5]);
    },
    event: () => {
      t.socket.receive({
        type: "event",
        event: {
          kind: "edit",
          target: 1,
          text: "edited",
          // At or below the contiguous seq, so the resume checks below are unchanged.
          seq: 3,
          room: "r",
          user: m(5).user,
          ts: 9,
          clientId: "e6",
        },
      });
      assert.equal(t.client.view.messages[0].text, "edited");
    },
    error: () => {
      t.socket.receive({
        type: "error",
        code: "rate_limited",
        message: "Slow down.",
      });
      assert.equal(t.client.view.notice, "Slow down.");
    },
    resync: () => {
      t.socket.receive({ type: "resync" });
      assert.deepEqual(t.socket.sentOf("resume").at(-1), {
        type: "resume",
        after: 5,
      });
    },
    presence: () => {
      t.socket.receive({ type: "presence", joins: presenceOf(ben, "b", 1) });
      assert.ok(t.client.view.presence[ben.id]);
    },
    typing: () => {
      t.socket.receive({ type: "typing", userId: ben.id, name: "Ben", ttl: 1 });
      assert.deepEqual(t.client.view.typing, ["Ben"]);
    },
    pong: () => {
      t.socket.receive({ type: "pong" });
      assert.equal(t.client.view.status, "live");
    },
    room: () => {
      t.socket.receive({ type: "room", info: ROOM_INFO });
      assert.equal(t.client.view.room?.settings.topic, "Cats");
    },
    standing: () => {
      t.socket.receive({
        type: "standing",
        role: "moderator",
        mute: { until: 99, reason: "spam" },
      });
      assert.equal(t.client.view.standing.role, "moderator");
      assert.equal(t.client.view.standing.mute?.until, 99);
    },
    reports: () => {
      t.socket.receive({ type: "reports", count: 3 });
      assert.equal(t.client.view.reports, 3);
    },
  };
  for (const effect of Object.values(effects)) effect();
  assert.ok(t.events.length > before);
  assert.deepEqual(t.logs, []);

  // A welcome clears the notice.
  t.socket.receive(welcome(range(1, 5)));
  assert.equal(t.client.view.notice, null);

  const view = t.client.view;
  for (
    const bad of [
      "{not json",
      '"a string"',
      JSON.stringify({ type: "nope" }),
      JSON.stringify({ type: "message", message: { seq: "6" } }),
      JSON.stringify({ type: "welcome", history: null, lastSeq: 1 }),
      JSON.stringify({ type: "presence", joins: { x: { user: 1 } } }),
    ]
  ) {
    t.socket.receive(bad);
  }
  assert.equal(t.logs.length, 6);
  assert.ok(t.logs.every((l) => l === "bad frame from server"));
  assert.equal(t.client.view, view, "nothing changed");
  // And it keeps working.
  t.socket.receive({ type: "message", message: m(6) });
  assert.deepEqual(seqs(t), [1, 2, 3, 4, 5, 6]);
});

Deno.test("room client: incoming is told once per new message from someone else", () => {
  const t = live(range(1, 2));
  t.socket.receive({ type: "message", message: m(3) });
  t.socket.receive({ type: "message", message: m(3) });
  t.socket.receive({ type: "message", message: m(2) });
  assert.deepEqual(t.eventsOf("incoming").map((e) => e.message.seq), [3]);
  assert.deepEqual(t.eventsOf("change").at(-1)!.timeline, {
    direction: "newer",
    mine: false,
    added: 0,
  });
});

Deno.test("room client: stop closes the socket and leaves no timer or listener behind", () => {
  const t = live();
  t.socket.receive({ type: "typing", userId: ben.id, name: "Ben", ttl: 5_000 });
  t.client.stop();
  assert.equal(t.socket.closedByClient, true);
  assert.deepEqual(t.clock.scheduled(), []);
  t.network.dispatchEvent(new Event("online"));
  assert.equal(t.sockets.length, 1);

  // Stopped while waiting to reconnect: the retry is cancelled too.
  const u = live();
  u.socket.drop();
  u.client.stop();
  assert.deepEqual(u.clock.scheduled(), []);
  u.clock.advance(60_000);
  assert.equal(u.sockets.length, 1);
});

// ---- Bad weather: heartbeat, network, close codes, sessions, pacing ----

/** What the browser reports for a socket that ended without a close frame. */
const ABNORMAL = 1006;

Deno.test("room client: a ping every 25 s keeps a live socket; one unanswered for 5 s reconnects", () => {
  const t = live();
  t.clock.advance(HEARTBEAT_INTERVAL_MS - 1);
  assert.deepEqual(t.socket.sentOf("ping"), [], "not before the interval");
  t.clock.advance(1);
  assert.deepEqual(t.socket.sentOf("ping"), [{ type: "ping" }]);
  t.clock.advance(PONG_TIMEOUT_MS - 1);
  t.socket.receive({ type: "pong" });
  t.clock.advance(HEARTBEAT_INTERVAL_MS);
  assert.equal(t.client.view.status, "live", "answered: still live");
  assert.equal(t.socket.sentOf("ping").length, 2);

  // The path dies: the next ping goes unanswered, and within 30 s of the
  // last answer the socket is given up and a new one tried.
  const dead = t.socket;
  t.clock.advance(PONG_TIMEOUT_MS);
  assert.equal(dead.closedByClient, true);
  assert.equal(t.client.view.status, "reconnecting");
  assert.deepEqual(t.logs, ["no answer to ping: reconnecting"]);
  assert.deepEqual(t.sessionChecks.asked, [], "it had opened: no check");
  t.clock.advance(reconnectDelay(0, JITTER));
  assert.equal(t.sockets.length, 2);
  t.socket.open();
  t.socket.receive(welcome(range(1, 2)));
  assert.equal(t.client.view.status, "live");
  // A frame the dead socket delivers late changes nothing.
  dead.receive({ type: "message", message: m(3) });
  assert.deepEqual(seqs(t), [1, 2]);
});

Deno.test("room client: any frame answers the heartbeat", () => {
  const t = live();
  t.clock.advance(HEARTBEAT_INTERVAL_MS);
  t.socket.receive({ type: "message", message: m(3) });
  t.clock.advance(PONG_TIMEOUT_MS);
  assert.equal(t.client.view.status, "live");
  assert.equal(t.sockets.length, 1);
});

Deno.test("room client: offline shows at once; a dead socket is dropped; back online reconnects now and sends what waited", () => {
  const t = live();
  t.setOnline(false);
  assert.equal(t.client.view.status, "offline");
  // The socket is kept but checked: a ping goes out now.
  assert.deepEqual(t.socket.sentOf("ping"), [{ type: "ping" }]);
  assert.equal(t.client.post("written offline"), true);
  assert.deepEqual(t.socket.sentOf("message"), [], "nothing sent offline");

  // No answer: dropped, still Offline; retries go on (the event may be wrong).
  t.clock.advance(PONG_TIMEOUT_MS);
  assert.equal(t.sockets[0].closedByClient, true);
  assert.equal(t.client.view.status, "offline");
  t.clock.advance(reconnectDelay(0, JITTER));
  assert.equal(t.sockets.length, 2);
  t.socket.drop(ABNORMAL);
  assert.equal(t.client.view.status, "offline", "a failed attempt");
  t.sessionChecks.asked.length = 0;

  // Back online: a socket at once, not after the backoff.
  t.setOnline(true);
  assert.equal(t.sockets.length, 3);
  assert.equal(t.client.view.status, "reconnecting");
  t.socket.open();
  t.socket.receive(welcome(range(1, 2)));
  assert.equal(t.client.view.status, "live");
  assert.deepEqual(t.socket.sentOf("message"), [
    { type: "message", text: "written offline", clientId: "local-1" },
  ]);
  const statuses = t.eventsOf("change").map((e) => e.view.status)
    .filter((s, i, all) => s !== all[i - 1]);
  assert.deepEqual(statuses, [
    "connecting",
    "live",
    "offline",
    "reconnecting",
    "live",
  ]);
});

Deno.test("room client: a socket kept while offline that still answers is live again", () => {
  const t = live();
  t.setOnline(false);
  assert.equal(t.client.view.status, "offline");
  t.client.post("still reaches the server");
  t.socket.receive({ type: "pong" });
  assert.equal(t.client.view.status, "live");
  assert.equal(t.sockets.length, 1);
  assert.equal(t.socket.sentOf("message").length, 1);
  t.clock.advance(PONG_TIMEOUT_MS);
  assert.equal(t.client.view.status, "live");
});

Deno.test("room client: offline from the start, or while waiting to reconnect", () => {
  const t = setup();
  t.setOnline(false);
  t.client.start();
  assert.equal(t.client.view.status, "offline");
  t.socket.drop(ABNORMAL);
  assert.equal(t.client.view.status, "offline");
  t.setOnline(true);
  assert.equal(t.client.view.status, "reconnecting");
  t.socket.open();
  t.socket.receive(welcome([]));
  assert.equal(t.client.view.status, "live");

  // A close the server sent proves the network works: Reconnecting, not Offline.
  t.setOnline(false);
  t.socket.drop(CloseCode.restart);
  assert.equal(t.client.view.status, "reconnecting");
  t.setOnline(false);
  assert.equal(t.client.view.status, "offline", "waiting, then offline");
});

Deno.test("room client: what each close code does", async (ctx) => {
  const reconnects = (code: number) => {
    const t = live();
    t.socket.drop(code);
    assert.equal(t.client.view.status, "reconnecting", `code ${code}`);
    assert.deepEqual(t.clock.scheduled(), [reconnectDelay(0, JITTER)]);
    assert.equal(t.client.view.notice, null);
    t.clock.advance(reconnectDelay(0, JITTER));
    assert.equal(t.sockets.length, 2);
  };
  await ctx.step(
    "1012 restart, 1013 try again, 1009, 1011, 1000, 1006: reconnect soon, jittered",
    () => {
      for (
        const code of [
          CloseCode.restart,
          CloseCode.tryAgain,
          CloseCode.tooBig,
          CloseCode.internal,
          CloseCode.normal,
          ABNORMAL,
        ]
      ) reconnects(code);
    },
  );
  await ctx.step(
    "4001 session ended: signed out, the other tabs told, no reconnect",
    () => {
      const t = live();
      t.socket.drop(CloseCode.sessionEnded);
      assert.equal(t.client.view.status, "signed-out");
      assert.equal(t.client.view.notice, SESSION_ENDED_NOTICE);
      assert.deepEqual(t.otherTab.heard, [{ type: "signed-out" }]);
      assert.deepEqual(t.clock.scheduled(), []);
    },
  );
  await ctx.step("4004 banned: terminal, no sign-in offered", () => {
    const t = live();
    t.socket.drop(CloseCode.banned);
    assert.equal(t.client.view.status, "banned");
    assert.equal(t.client.view.notice, BANNED_NOTICE);
    assert.deepEqual(t.otherTab.heard, []);
    t.setOnline(true);
    t.clock.advance(60_000);
    assert.equal(t.sockets.length, 1);
  });
  await ctx.step(
    "4005 no access: terminal with its own notice (not a moderator's removal), no reconnect",
    () => {
      const t = live();
      t.socket.drop(CloseCode.noAccess);
      assert.equal(t.client.view.status, "no-access");
      assert.equal(t.client.view.notice, NO_ACCESS_NOTICE);
      t.setOnline(true);
      t.clock.advance(60_000);
      assert.equal(t.sockets.length, 1, "never by itself");
      t.client.rejoin();
      assert.equal(t.sockets.length, 1, "Rejoin is for a kick only");
    },
  );
  await ctx.step("4003 kicked: a notice, and the user may rejoin", () => {
    const t = live();
    t.socket.drop(CloseCode.kicked);
    assert.equal(t.client.view.status, "kicked");
    assert.equal(t.client.view.notice, KICKED_NOTICE);
    t.clock.advance(60_000);
    assert.equal(t.sockets.length, 1, "not by itself");
    t.client.rejoin();
    assert.equal(t.sockets.length, 2);
    t.socket.open();
    t.socket.receive(welcome(range(1, 2)));
    assert.equal(t.client.view.status, "live");
    assert.equal(t.client.view.notice, null);
  });
  await ctx.step(
    "4029 flooding: not a sign-out; reconnect after a pause, then send slower",
    () => {
      const t = live();
      for (let i = 1; i <= 25; i++) t.client.post(`burst ${i}`);
      assert.equal(t.socket.sentOf("message").length, 20);
      t.socket.drop(CloseCode.rateLimited);
      assert.equal(t.client.view.status, "reconnecting");
      assert.equal(t.client.view.notice, FLOOD_CLOSED_NOTICE);
      assert.deepEqual(t.otherTab.heard, []);
      const pause = FLOOD_PAUSE_MS + reconnectDelay(0, JITTER);
      assert.deepEqual(t.clock.scheduled(), [pause]);
      t.clock.advance(pause);
      t.socket.open();
      t.socket.receive(welcome(range(1, 2)));
      assert.equal(t.client.view.status, "live");
      assert.equal(t.client.view.notice, null, "sending works again");
      // The budget refills from one token at the end of the pause: no new burst.
      const refilled = (pause - FLOOD_PAUSE_MS) / 1000 * 2 * PACE_SHARE;
      assert.equal(t.socket.sentOf("message").length, 1 + Math.floor(refilled));
      t.clock.advance(25 * Math.ceil(1000 / (2 * PACE_SHARE)));
      assert.deepEqual(
        t.socket.sentOf("message").map((f) => f.text),
        Array.from({ length: 25 }, (_, i) => `burst ${i + 1}`),
      );
    },
  );
});

Deno.test("room client: a refused connect asks the session: 401 signs out in place, 200 keeps retrying", async () => {
  // 200: the server answers but the socket failed (a restart, a cap): back off.
  const a = live();
  a.socket.drop(CloseCode.restart);
  a.clock.advance(reconnectDelay(0, JITTER));
  a.socket.drop(ABNORMAL);
  assert.equal(a.sessionChecks.asked.length, 1);
  await a.sessionChecks.answer({ status: "signed-in", user: ana });
  assert.equal(a.client.view.status, "reconnecting");
  assert.deepEqual(a.clock.scheduled(), [reconnectDelay(1, JITTER)]);
  // Unreachable: the same.
  a.clock.advance(reconnectDelay(1, JITTER));
  a.socket.drop(ABNORMAL);
  await a.sessionChecks.answer({ status: "unknown" });
  assert.equal(a.client.view.status, "reconnecting");
  assert.deepEqual(a.clock.scheduled(), [reconnectDelay(2, JITTER)]);

  // 401: signed out (the secret changed, the session expired), told to the other tabs.
  const b = live();
  b.client.post("typed before the restart");
  b.socket.drop(CloseCode.restart);
  b.client.post("typed during the outage");
  b.clock.advance(reconnectDelay(0, JITTER));
  b.socket.drop(ABNORMAL);
  await b.sessionChecks.answer({ status: "signed-out" });
  assert.equal(b.client.view.status, "signed-out");
  assert.equal(b.client.view.notice, SIGNED_OUT_NOTICE);
  assert.deepEqual(b.otherTab.heard, [{ type: "signed-out" }]);
  assert.deepEqual(b.clock.scheduled(), [], "no more retries");
  assert.equal(b.client.view.pending.length, 2, "nothing typed is lost");

  // A late answer once live again changes nothing.
  const c = setup();
  c.client.start();
  c.socket.drop(ABNORMAL);
  c.clock.advance(reconnectDelay(0, JITTER));
  c.socket.open();
  c.socket.receive(welcome([]));
  await c.sessionChecks.answer({ status: "signed-out" });
  assert.equal(c.client.view.status, "live");
});

Deno.test("room client: signing in again reconnects as the new user and sends the outbox once", async () => {
  const t = live();
  t.client.post("written before the session ended");
  const first = t.socket.sentOf("message");
  assert.equal(first.length, 1);
  t.socket.drop(CloseCode.sessionEnded);
  t.client.post("written while signed out");
  assert.equal(t.client.view.status, "signed-out");

  const ana2: ChatUser = { id: "guest:ana-2", name: "Ana", kind: "guest" };
  t.client.signedIn(ana2);
  assert.deepEqual(t.otherTab.heard, [
    { type: "signed-out" },
    { type: "signed-in", user: ana2 },
  ]);
  assert.equal(t.client.view.status, "connecting");
  assert.equal(t.client.view.notice, null);
  assert.equal(t.client.view.user, ana2);
  assert.equal(t.sockets.length, 2);
  t.socket.open();
  t.socket.receive(welcome(range(1, 2), 2, ana2));
  assert.equal(t.client.view.status, "live");
  assert.deepEqual(t.socket.sentOf("message"), [
    {
      type: "message",
      text: "written before the session ended",
      clientId: first[0].clientId,
    },
    { type: "message", text: "written while signed out", clientId: "local-2" },
  ]);
  // Confirmed as the new user's: mine, and gone from the outbox.
  t.socket.receive({ type: "message", message: m(3, ana2, "local-1") });
  t.socket.receive({ type: "message", message: m(4, ana2, "local-2") });
  assert.deepEqual(t.client.view.pending, []);
  assert.deepEqual(t.eventsOf("incoming"), []);
  assert.equal(t.socket.sentOf("message").length, 2, "once");
  await Promise.resolve();
});

Deno.test("room client: the other tabs' sign-out and sign-in are followed in place", () => {
  const t = live();
  t.otherTab.post({ type: "signed-out" });
  assert.equal(t.client.view.status, "signed-out");
  assert.equal(t.client.view.notice, SIGNED_OUT_ELSEWHERE_NOTICE);
  assert.equal(t.sockets[0].closedByClient, true);
  assert.deepEqual(t.otherTab.heard, [], "not echoed back");
  t.client.post("kept for later");

  const ben2 = { ...ben, id: "guest:ben-2" };
  t.otherTab.post({ type: "signed-in", user: ben2 });
  assert.equal(t.client.view.status, "connecting");
  assert.equal(t.client.view.user, ben2);
  t.socket.open();
  t.socket.receive(welcome(range(1, 2), 2, ben2));
  assert.deepEqual(t.socket.sentOf("message").map((f) => f.text), [
    "kept for later",
  ]);

  // Someone else signed in elsewhere while this tab is live: follow them.
  const cy: ChatUser = { id: "guest:cy", name: "Cy", kind: "guest" };
  const before = t.socket;
  t.otherTab.post({ type: "signed-in", user: cy });
  assert.equal(before.closedByClient, true);
  assert.equal(t.client.view.user, cy);
  // The same user again changes nothing.
  const now = t.socket;
  t.otherTab.post({ type: "signed-in", user: cy });
  assert.equal(t.socket, now);
  assert.equal(now.closedByClient, false);
});

Deno.test("room client: 40 messages at once go out 20 at once, then at the server's sustained rate", () => {
  const t = live();
  for (let i = 1; i <= 40; i++) t.client.post(`pasted ${i}`);
  const sent = () => t.socket.sentOf("message");
  assert.equal(sent().length, 20, "the burst");
  const interval = Math.ceil(1000 / (2 * PACE_SHARE));
  assert.ok(interval >= 500, "never faster than 2/s");
  t.clock.advance(20 * interval);
  assert.equal(sent().length, 40);
  assert.deepEqual(sent().map((f) => f.text), [
    ...Array.from({ length: 40 }, (_, i) => `pasted ${i + 1}`),
  ]);
  const times = t.socket.sentAt.filter((_, i) =>
    t.socket.sent[i].type === "message"
  );
  const gaps = times.slice(20).map((at, i) => at - times[19 + i]);
  assert.ok(gaps.every((g) => g >= interval - 1 && g <= interval), `${gaps}`);

  // An outbox flushed after a reconnect is paced the same way.
  for (const [i, f] of sent().entries()) {
    t.socket.receive({ type: "message", message: m(3 + i, ana, f.clientId) });
  }
  assert.deepEqual(t.client.view.pending, []);
  t.socket.drop();
  for (let i = 1; i <= 30; i++) t.client.post(`offline ${i}`);
  t.clock.advance(reconnectDelay(0, JITTER));
  t.socket.open();
  t.socket.receive(welcome(range(1, 2)));
  // The budget spent before the reconnect has partly refilled, not reset to a full burst.
  const flushed = t.socket.sentOf("message").length;
  assert.ok(flushed < 30 && flushed <= 20, `${flushed} at once`);
  t.clock.advance(30 * interval);
  assert.deepEqual(
    t.socket.sentOf("message").map((f) => f.text),
    Array.from({ length: 30 }, (_, i) => `offline ${i + 1}`),
  );
});

Deno.test("room client: a message refused as rate limited is sent again after retryAfter, in order", () => {
  const t = live();
  t.client.post("one");
  t.client.post("two");
  const [one, two] = t.socket.sentOf("message");
  // Another tab of the same person spent the shared budget.
  for (const f of [one, two]) {
    t.socket.receive({
      type: "error",
      code: "rate_limited",
      message: "You are sending too fast.",
      retryAfter: 1_200,
      refused: "message",
      clientId: f.clientId,
    });
  }
  assert.equal(t.client.view.notice, TOO_FAST_NOTICE);
  assert.equal(t.client.view.status, "live");
  t.clock.advance(1_199);
  assert.equal(t.socket.sentOf("message").length, 2, "not before retryAfter");
  t.clock.advance(Math.ceil(1000 / (2 * PACE_SHARE)));
  assert.deepEqual(t.socket.sentOf("message").slice(2), [one]);
  t.clock.advance(Math.ceil(1000 / (2 * PACE_SHARE)));
  assert.deepEqual(t.socket.sentOf("message").slice(2), [one, two]);
  // Sending works again: the notice goes.
  t.socket.receive({ type: "message", message: m(3, ana, one.clientId) });
  assert.equal(t.client.view.notice, null);
  assert.deepEqual(t.client.view.failures, {});
});

Deno.test("room client: a rate-limited resume or page of history is asked again after retryAfter", () => {
  const t = live(range(51, 52), { hasMore: true });
  t.socket.receive({ type: "message", message: m(60) });
  assert.equal(t.socket.sentOf("resume").length, 1);
  t.socket.receive(tooFast("resume", 300));
  t.client.loadOlder();
  t.socket.receive(tooFast("history"));
  assert.equal(t.client.view.notice, null, "nothing to tell the user");
  assert.equal(t.client.view.loadingOlder, false);
  t.clock.advance(300);
  assert.deepEqual(t.socket.sentOf("resume").at(-1), {
    type: "resume",
    after: 52,
  });
  assert.equal(t.socket.sentOf("resume").length, 2);
  t.clock.advance(DEFAULT_RETRY_AFTER_MS - 300);
  assert.equal(t.socket.sentOf("history").length, 2);
  assert.equal(t.client.view.loadingOlder, true);
});

Deno.test("room client: a message refused for good shows why; Retry sends it again, Discard drops it", () => {
  const t = live();
  t.client.post("first");
  t.client.post("second");
  const [first, second] = t.socket.sentOf("message");
  t.socket.receive({
    type: "error",
    code: "text_too_long",
    message: "Messages are limited to 4000 characters.",
    refused: "message",
    clientId: first.clientId,
  });
  assert.deepEqual(t.client.view.failures, {
    [first.clientId]: "Messages are limited to 4000 characters.",
  });
  assert.equal(t.client.view.notice, null);
  assert.equal(t.client.view.pending.length, 2, "still shown, as failed");

  // A reconnect does not send a failed message again by itself.
  t.socket.drop();
  t.clock.advance(reconnectDelay(0, JITTER));
  t.socket.open();
  t.socket.receive(welcome(range(1, 2)));
  assert.deepEqual(t.socket.sentOf("message"), [second]);

  t.client.retry(first.clientId);
  assert.deepEqual(t.client.view.failures, {});
  assert.deepEqual(t.socket.sentOf("message"), [second, first]);

  t.client.discard(first.clientId);
  assert.deepEqual(t.client.view.pending.map((p) => p.text), ["second"]);
  assert.deepEqual(
    JSON.parse(t.storage.getItem(outboxKey(ROOM))!).map((p: { text: string }) =>
      p.text
    ),
    ["second"],
  );
  // Retry of a message stuck while disconnected tries a socket now.
  t.socket.drop();
  assert.equal(t.sockets.length, 2);
  t.client.retry(second.clientId);
  assert.equal(t.sockets.length, 3);
  assert.deepEqual(t.clock.scheduled(), []);
});

Deno.test("room client: the outbox belongs to the room: one saved under a user id is taken in once", () => {
  const storage = new MemoryStorage();
  storage.setItem(
    legacyOutboxKey(ROOM, "guest:old-id"),
    JSON.stringify([{ clientId: "old", text: "from an old guest id", ts: 1 }]),
  );
  storage.setItem(
    legacyOutboxKey(ROOM, ana.id),
    JSON.stringify([{ clientId: "mine", text: "from this id", ts: 2 }]),
  );
  storage.setItem(
    legacyOutboxKey("other-room", ana.id),
    JSON.stringify([{ clientId: "x", text: "another room's", ts: 3 }]),
  );
  const t = setup({}, storage);
  t.client.start();
  assert.deepEqual(t.client.view.pending.map((p) => p.clientId), [
    "old",
    "mine",
  ]);
  assert.deepEqual(
    [...storage.map.keys()].sort(),
    [
      outboxKey(ROOM),
      legacyOutboxKey("other-room", ana.id),
    ].sort(),
  );
  t.socket.open();
  t.socket.receive(welcome([]));
  assert.deepEqual(t.socket.sentOf("message").map((f) => f.clientId), [
    "old",
    "mine",
  ]);
});

Deno.test("room client: moderation and reports go out as frames; a refusal shows as the notice", () => {
  const t = live(range(1, 2));
  const ben = { id: "guest:ben", name: "Ben" };
  assert.equal(
    t.client.moderate({ type: "moderate", action: "kick", user: ben }),
    true,
  );
  assert.equal(t.client.moderate({ type: "report", target: 2 }), true);
  const [kick] = t.socket.sentOf("moderate");
  const [report] = t.socket.sentOf("report");
  assert.equal(kick.action, "kick");
  assert.deepEqual(kick.user, ben);
  assert.equal(report.target, 2);
  assert.notEqual(kick.clientId, report.clientId);
  t.socket.receive({
    type: "error",
    code: "forbidden",
    message: "Only this room's moderators can do that.",
    refused: "moderate",
    clientId: kick.clientId,
  });
  assert.equal(
    t.client.view.notice,
    "Only this room's moderators can do that.",
  );
  // Not live: nothing is sent, and the notice says so.
  t.socket.drop();
  assert.equal(t.client.moderate({ type: "report", target: 1 }), false);
  assert.equal(t.socket.sentOf("report").length, 1);
});
