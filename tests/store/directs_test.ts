/**
 * The DirectStore contract, on every backend `createStore` offers: a
 * conversation is listed for both people (once, keeping when it began), and
 * read markers only move forward.
 */
import assert from "node:assert/strict";
import type { Stores } from "../../lib/store/types.ts";
import { storeContract } from "./_fixtures/contract.ts";
import type { Reactor } from "../../lib/chat/types.ts";

const ANA: Reactor = { id: "google:ana", name: "Ana" };
const BEN: Reactor = { id: "google:ben", name: "Ben" };
const CAL: Reactor = { id: "google:cal", name: "Cal" };

/** This file's contract: {@link storeContract} for this store. */
function contract(name: string, fn: (stores: Stores) => Promise<void>) {
  storeContract("direct store", name, fn);
}

contract("a conversation is listed for both, once", async ({ directs }) => {
  await directs.link("dm-1", ANA, BEN, 100);
  await directs.link("dm-1", BEN, ANA, 200);
  assert.deepEqual(await directs.conversations(ANA.id, 10), [
    { room: "dm-1", with: BEN, since: 100 },
  ]);
  assert.deepEqual(await directs.conversations(BEN.id, 10), [
    { room: "dm-1", with: ANA, since: 100 },
  ]);
  assert.deepEqual(await directs.conversations(CAL.id, 10), []);
});

contract("read markers only move forward", async ({ directs }) => {
  assert.deepEqual(await directs.lastRead(ANA.id, ["dm-1", "dm-2"]), [0, 0]);
  await directs.markRead(ANA.id, "dm-1", 5);
  await directs.markRead(ANA.id, "dm-1", 3);
  await Promise.all([
    directs.markRead(ANA.id, "dm-2", 7),
    directs.markRead(ANA.id, "dm-2", 9),
    directs.markRead(ANA.id, "dm-2", 8),
  ]);
  assert.deepEqual(await directs.lastRead(ANA.id, ["dm-1", "dm-2"]), [5, 9]);
  assert.deepEqual(await directs.lastRead(BEN.id, ["dm-1"]), [0]);
});
