/**
 * One worker thread of the storm's load generator: a {@link StormFleet}
 * answering the coordinator's commands (`FleetThread` in
 * `bench/storm_fleet.ts`), one at a time, in order.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { type FleetCommand, StormFleet } from "./storm_fleet.ts";

const fleet = new StormFleet((r) => self.postMessage(r));
let queue = Promise.resolve();
self.onmessage = (e: MessageEvent<FleetCommand>) => {
  queue = queue.then(() => fleet.handle(e.data));
};
