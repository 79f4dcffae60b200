import assert from "node:assert/strict";
import {
  openSessionChannel,
  parseSessionEvent,
  SESSION_CHANNEL_NAME,
  type SessionChannelHost,
  type SessionEvent,
} from "../../../lib/chat/client/session_channel.ts";
import type { ChatUser } from "../../../lib/chat/types.ts";

const ana: ChatUser = { id: "guest:ana", name: "Ana", kind: "guest" };

Deno.test("session events: only well-formed ones are taken", () => {
  assert.deepEqual(parseSessionEvent({ type: "signed-out", extra: 1 }), {
    type: "signed-out",
  });
  assert.deepEqual(parseSessionEvent({ type: "signed-in", user: ana }), {
    type: "signed-in",
    user: ana,
  });
  for (
    const bad of [
      null,
      "signed-out",
      { type: "signed-in" },
      { type: "signed-in", user: { id: 1, name: "x", kind: "guest" } },
      { type: "signed-in", user: { id: "a", name: "x", kind: "admin" } },
      { type: "other" },
    ]
  ) assert.equal(parseSessionEvent(bad), null, JSON.stringify(bad));
});

/** Resolves with the next event `channel` hears. */
function next(channel: ReturnType<typeof openSessionChannel>) {
  return new Promise<SessionEvent>((resolve) => {
    const off = channel.subscribe((e) => {
      off();
      resolve(e);
    });
  });
}

Deno.test("session channel: over BroadcastChannel, every other end hears, never the sender", async () => {
  const host = (): SessionChannelHost => ({
    broadcast: (name) => new BroadcastChannel(name),
    storage: null,
    events: null,
  });
  const a = openSessionChannel(host);
  const b = openSessionChannel(host);
  const heardByA: SessionEvent[] = [];
  const offA = a.subscribe((e) => heardByA.push(e));
  const atB = next(b);
  a.post({ type: "signed-in", user: ana });
  assert.deepEqual(await atB, { type: "signed-in", user: ana });
  // B answers; A hears that, and never heard its own.
  const atA = next(a);
  b.post({ type: "signed-out" });
  assert.deepEqual(await atA, { type: "signed-out" });
  assert.deepEqual(heardByA, [{ type: "signed-out" }]);
  // Unsubscribing every listener closes the channel (no open handle leaks).
  offA();
});

Deno.test("session channel: without BroadcastChannel, storage events reach other tabs and a bus this page", () => {
  const writes: [string, string][] = [];
  const otherTabWindow = new EventTarget();
  const host = (): SessionChannelHost => ({
    broadcast: null,
    storage: { setItem: (k, v) => void writes.push([k, v]) },
    events: otherTabWindow,
  });
  const here = openSessionChannel(host);
  const sameTab = openSessionChannel(host);
  const heardHere: SessionEvent[] = [];
  const heardSameTab: SessionEvent[] = [];
  here.subscribe((e) => heardHere.push(e));
  sameTab.subscribe((e) => heardSameTab.push(e));

  here.post({ type: "signed-out" });
  here.post({ type: "signed-out" });
  assert.deepEqual(heardSameTab, [{ type: "signed-out" }, {
    type: "signed-out",
  }]);
  assert.deepEqual(heardHere, [], "never the sender");
  assert.equal(writes.length, 2);
  assert.equal(writes[0][0], SESSION_CHANNEL_NAME);
  assert.notEqual(writes[0][1], writes[1][1], "each write is a change");

  // What another tab wrote arrives as a storage event (Deno has no
  // StorageEvent: an Event with its fields stands in).
  const fromOtherTab = (key: string, newValue: string | null) =>
    otherTabWindow.dispatchEvent(
      Object.assign(new Event("storage"), { key, newValue }),
    );
  fromOtherTab(
    SESSION_CHANNEL_NAME,
    JSON.stringify({ type: "signed-in", user: ana, nonce: 1 }),
  );
  fromOtherTab("unrelated", JSON.stringify({ type: "signed-out" }));
  fromOtherTab(SESSION_CHANNEL_NAME, "{not json");
  fromOtherTab(SESSION_CHANNEL_NAME, null);
  assert.deepEqual(heardHere, [{ type: "signed-in", user: ana }]);
});

Deno.test("session channel: nothing is opened until first used", () => {
  let opened = 0;
  const channel = openSessionChannel(() => {
    opened++;
    return { broadcast: null, storage: null, events: null };
  });
  assert.equal(opened, 0);
  const off = channel.subscribe(() => {});
  channel.post({ type: "signed-out" });
  assert.equal(opened, 1);
  off();
});
