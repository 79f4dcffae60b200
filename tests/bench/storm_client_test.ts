/**
 * The storm bench's client (bench/storm_client.ts) against a real server:
 * its first socket is welcomed with the room's page (and, with
 * `--resume=always`, resumes); every socket after says `?after=` its
 * timeline's contiguous `seq`, and then sends no resume of its own — the
 * server answers it — yet holds every message.
 */
import assert from "node:assert/strict";
import { StormClient, StormTally } from "../../bench/storm_client.ts";
import { Signal } from "../../support/wait.ts";
import { startServer } from "../_helpers/server.ts";

Deno.test("storm client: a reconnect says ?after=, is answered without a resume of its own (--resume=always), and catches up", async () => {
  const server = await startServer();
  const clients: StormClient[] = [];
  try {
    const room = "storm-0";
    const { store } = server.services;
    const seeder = { id: "guest:seed", name: "Seed", kind: "guest" } as const;
    const post = async (n: number) => {
      await store.append({
        room,
        user: seeder,
        text: `m${n}`,
        clientId: `seed-${n}`,
      });
    };
    for (let n = 1; n <= 3; n++) await post(n);
    const { cookie } = await server.guest("Ana");
    const tally = new StormTally();
    tally.measuring = true;
    const caughtUp = new Signal();
    let caught = 0;
    const c = new StormClient(
      0,
      "c0",
      { cookie },
      "roomcast",
      "always",
      tally,
      () => {},
      () => {
        caught++;
        caughtUp.notify();
      },
    );

    clients.push(c);

    // First socket: nothing held yet, so the full welcome, and a resume after it.
    c.goal = 3;
    await c.connect(server.wsUrl(room), server.origin);
    await caughtUp.until(
      () => caught === 1,
      "caught up after the first welcome",
    );
    assert.equal(tally.resumes, 1);
    assert.equal(tally.resumedWelcomes, 0);
    const fullWelcome = tally.welcomeChars;

    // Away while the room moves on; back with ?after=3.
    c.abandon();
    for (let n = 4; n <= 6; n++) await post(n);
    c.goal = 6;
    await c.connect(server.wsUrl(room), server.origin);
    await caughtUp.until(
      () => caught === 2,
      () =>
        `caught up after the reconnect (contiguous ${c.timeline.contiguous})`,
    );
    assert.equal(tally.resumedWelcomes, 1, "the welcome answered ?after=");
    assert.equal(tally.resumes, 1, "no resume sent after it");
    assert.ok(
      tally.welcomeChars - fullWelcome < fullWelcome,
      "the second welcome carries no history",
    );
    assert.deepEqual(
      c.timeline.messages.map((m) => m.clientId),
      [1, 2, 3, 4, 5, 6].map((n) => `seed-${n}`),
    );
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
});
