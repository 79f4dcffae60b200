/**
 * The RoomStore contract, on every backend `createStore` offers: records and
 * owners, roles, mutes and bans (timed, by address, surviving a reopen),
 * slow-mode slots, reports and the paged audit log.
 */
import assert from "node:assert/strict";
import { createStore } from "../../lib/store/stores.ts";
import { STORE_KINDS, type Stores } from "../../lib/store/types.ts";
import type { Reactor, RoomSettings, Sanction } from "../../lib/chat/types.ts";

const SETTINGS: RoomSettings = {
  title: "",
  topic: "",
  visibility: "public",
  postPolicy: "everyone",
  slowModeSeconds: 0,
  guestsAllowed: true,
};
const OWEN: Reactor = { id: "google:owen", name: "Owen" };
const MIA: Reactor = { id: "google:mia", name: "Mia" };
const GUS: Reactor = { id: "guest:gus", name: "Gus" };

/** Runs `fn` on a fresh bundle of every backend, on a file (so it can be reopened). */
function contract(
  name: string,
  fn: (stores: Stores, reopen: () => Promise<Stores>) => Promise<void>,
) {
  for (const store of STORE_KINDS) {
    Deno.test(`room store (${store}): ${name}`, async () => {
      const dir = await Deno.makeTempDir({ prefix: "roomcast-rooms-" });
      const open = () =>
        createStore({
          store,
          kvPath: `${dir}/rooms.kv`,
          historyRetention: 100,
        });
      const opened: Stores[] = [];
      try {
        const stores = await open();
        opened.push(stores);
        await fn(stores, async () => {
          const again = await open();
          opened.push(again);
          return again;
        });
      } finally {
        for (const s of opened) await s.close();
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
}

contract(
  "getMany reads many records at once, in order, null where none",
  async ({ rooms }) => {
    const names = Array.from({ length: 25 }, (_, i) => `many-${i}`);
    for (const name of names.filter((_, i) => i % 3 === 0)) {
      await rooms.create(name, OWEN, SETTINGS, 1);
    }
    const many = await rooms.getMany(names);
    assert.equal(many.length, names.length);
    for (const [i, name] of names.entries()) {
      assert.deepEqual(many[i], await rooms.get(name), name);
      assert.equal(many[i] !== null, i % 3 === 0, name);
    }
    assert.deepEqual(await rooms.getMany([]), []);
  },
);

contract(
  "a room has no record until created, and one creator wins",
  async ({ rooms }) => {
    assert.equal(await rooms.get("r"), null);
    const results = await Promise.all([
      rooms.create("r", OWEN, SETTINGS, 1),
      rooms.create("r", MIA, SETTINGS, 2),
    ]);
    assert.deepEqual(results.map((r) => r.created).sort(), [false, true]);
    const winner = results.find((r) => r.created)!.info.owner;
    assert.deepEqual((await rooms.get("r"))?.owner, winner);
    for (const r of results) assert.deepEqual(r.info.owner, winner);
  },
);

contract(
  "an ownerless room is claimed once; settings keep the owner",
  async ({ rooms }) => {
    await rooms.updateSettings("r", { ...SETTINGS, topic: "hi" }, 1);
    assert.equal((await rooms.get("r"))?.owner, null);
    const claimed = await rooms.claim("r", OWEN, SETTINGS, 2);
    assert.deepEqual(claimed?.owner, OWEN);
    assert.equal(claimed?.settings.topic, "hi");
    assert.equal(await rooms.claim("r", MIA, SETTINGS, 3), null);
    const updated = await rooms.updateSettings("r", {
      ...SETTINGS,
      visibility: "private",
      slowModeSeconds: 10,
    }, 4);
    assert.deepEqual(updated.owner, OWEN);
    assert.equal((await rooms.get("r"))?.settings.visibility, "private");
    assert.equal((await rooms.get("r"))?.settings.slowModeSeconds, 10);
    // A room never made is claimed with the settings given.
    assert.deepEqual((await rooms.claim("new", MIA, SETTINGS, 5))?.owner, MIA);
  },
);

contract(
  "roles: owner from the record, moderator and member from memberships, handed over",
  async ({ rooms }) => {
    await rooms.create("r", OWEN, SETTINGS);
    assert.equal((await rooms.standing("r", OWEN.id)).role, "owner");
    assert.equal((await rooms.standing("r", MIA.id)).role, null);
    await rooms.setRole("r", MIA, "moderator");
    await rooms.setRole("r", GUS, "member");
    assert.equal((await rooms.standing("r", MIA.id)).role, "moderator");
    assert.equal((await rooms.standing("r", GUS.id)).role, "member");
    assert.deepEqual(
      (await rooms.members("r", 10)).map((m) => [m.user.id, m.role]).sort(),
      [[GUS.id, "member"], [MIA.id, "moderator"]].sort(),
    );
    const access = await rooms.access("r", MIA.id);
    assert.deepEqual(access.info?.owner, OWEN);
    assert.equal(access.standing.role, "moderator");
    assert.equal((await rooms.access("none", MIA.id)).info, null);
    const info = await rooms.transfer("r", MIA);
    assert.deepEqual(info?.owner, MIA);
    assert.equal((await rooms.standing("r", MIA.id)).role, "owner");
    assert.equal((await rooms.standing("r", OWEN.id)).role, "moderator");
    await rooms.setRole("r", OWEN, null);
    assert.equal((await rooms.standing("r", OWEN.id)).role, null);
    assert.equal(await rooms.transfer("none", MIA), null);
  },
);

contract(
  "mutes and bans are in force until their time, by user or address, and are lifted",
  async ({ rooms }) => {
    const t = 1_000_000;
    const mute: Sanction = {
      kind: "mute",
      user: GUS,
      until: t + 60_000,
      reason: "spam",
      by: OWEN,
      ts: t,
    };
    await rooms.sanction("r", mute);
    assert.deepEqual(
      (await rooms.standing("r", GUS.id, undefined, t)).mute,
      mute,
    );
    assert.equal(
      (await rooms.standing("r", GUS.id, undefined, t + 60_000)).mute,
      null,
    );
    assert.deepEqual(await rooms.sanctions("r", "mute", 10, t), [mute]);
    assert.deepEqual(await rooms.sanctions("r", "mute", 10, t + 60_001), []);
    assert.equal(await rooms.lift("r", "mute", GUS.id), true);
    assert.equal(await rooms.lift("r", "mute", GUS.id), false);
    assert.equal((await rooms.standing("r", GUS.id, undefined, t)).mute, null);

    const ban: Sanction = {
      kind: "ban",
      user: GUS,
      until: null,
      by: OWEN,
      ts: t,
      address: "10.0.0.9",
    };
    await rooms.sanction("r", ban);
    assert.deepEqual((await rooms.standing("r", GUS.id)).ban, ban);
    // Another guest id from the same address is refused too; from elsewhere, not.
    assert.deepEqual(
      (await rooms.standing("r", "guest:new", "10.0.0.9")).ban,
      ban,
    );
    assert.equal(
      (await rooms.standing("r", "guest:new", "10.0.0.8")).ban,
      null,
    );
    // Only this room.
    assert.equal((await rooms.standing("other", GUS.id, "10.0.0.9")).ban, null);
    assert.equal(await rooms.lift("r", "ban", GUS.id), true);
    assert.equal(
      (await rooms.standing("r", "guest:new", "10.0.0.9")).ban,
      null,
    );
  },
);

contract("a ban survives reopening the database", async ({ rooms }, reopen) => {
  await rooms.sanction("r", {
    kind: "ban",
    user: GUS,
    until: Date.now() + 3_600_000,
    by: OWEN,
    ts: Date.now(),
  });
  const again = await reopen();
  assert.equal((await again.rooms.standing("r", GUS.id)).ban?.user.id, GUS.id);
});

contract(
  "slow mode: one slot per person per N seconds, across callers",
  async ({ rooms }) => {
    const t = 5_000_000;
    assert.equal(await rooms.takeSlot("r", GUS.id, 10, t), 0);
    assert.equal(await rooms.takeSlot("r", GUS.id, 10, t + 4_000), 6_000);
    assert.equal(await rooms.takeSlot("r", MIA.id, 10, t + 4_000), 0);
    assert.equal(await rooms.takeSlot("r", GUS.id, 10, t + 10_000), 0);
    // Off: always free, nothing taken.
    assert.equal(await rooms.takeSlot("r", GUS.id, 0, t + 10_001), 0);
    // Concurrent takers: exactly one wins.
    const results = await Promise.all(
      Array.from({ length: 5 }, () => rooms.takeSlot("r", "guest:x", 30, t)),
    );
    assert.equal(results.filter((w) => w === 0).length, 1);
  },
);

contract(
  "reports: one per reporter and message, listed, dismissed by message",
  async ({ rooms }) => {
    await rooms.report("r", {
      target: 4,
      reporter: MIA,
      ts: 1,
      reason: "rude",
    });
    await rooms.report("r", {
      target: 4,
      reporter: MIA,
      ts: 2,
      reason: "spam",
    });
    await rooms.report("r", { target: 4, reporter: GUS, ts: 3 });
    await rooms.report("r", { target: 9, reporter: GUS, ts: 4 });
    const open = await rooms.reports("r", 10);
    assert.deepEqual(open.map((r) => [r.target, r.reporter.id]), [
      [4, MIA.id],
      [4, GUS.id],
      [9, GUS.id],
    ]);
    assert.equal(open.find((r) => r.reporter.id === MIA.id)?.reason, "spam");
    assert.equal(await rooms.dismissReports("r", 4), 2);
    assert.deepEqual((await rooms.reports("r", 10)).map((r) => r.target), [9]);
    assert.deepEqual(await rooms.reports("other", 10), []);
  },
);

contract(
  "the audit log is kept and paged newest first",
  async ({ rooms }, reopen) => {
    for (let i = 0; i < 5; i++) {
      await rooms.audit("r", {
        ts: 1000 + i,
        actor: OWEN,
        action: "mute",
        subject: GUS,
        reason: `r${i}`,
      });
    }
    await rooms.audit("other", { ts: 1, actor: OWEN, action: "kick" });
    const again = (await reopen()).rooms;
    const first = await again.auditPage("r", undefined, 2);
    assert.deepEqual(first.entries.map((e) => e.reason), ["r4", "r3"]);
    assert.ok(first.next);
    const second = await again.auditPage("r", first.next, 2);
    assert.deepEqual(second.entries.map((e) => e.reason), ["r2", "r1"]);
    const last = await again.auditPage("r", second.next, 2);
    assert.deepEqual(last.entries.map((e) => e.reason), ["r0"]);
    assert.equal(last.next, undefined);
  },
);
