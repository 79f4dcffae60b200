/**
 * The session handover on Deno KV: `["handover", <leaver>, <n>]`, each key
 * one signed chunk, expiring on its own (`expireIn`), so nothing cleans up
 * after a stop and every process that starts within the time finds it —
 * the workers of one machine, or the next deploy's instances.
 *
 * @module
 */

import {
  type HandoverChunk,
  type HandoverStore,
  MAX_HANDOVER_CHUNKS,
} from "./types.ts";

/** {@link HandoverStore} on Deno KV. */
export class KvHandoverStore implements HandoverStore {
  constructor(private readonly kv: Deno.Kv) {}

  async leave(chunks: readonly HandoverChunk[], ttlMs: number): Promise<void> {
    const leaver = crypto.randomUUID();
    await Promise.all(
      chunks.map((chunk, n) =>
        this.kv.set(["handover", leaver, n], chunk, { expireIn: ttlMs })
      ),
    );
  }

  async collect(): Promise<HandoverChunk[]> {
    const chunks: HandoverChunk[] = [];
    const entries = this.kv.list<HandoverChunk>(
      { prefix: ["handover"] },
      { limit: MAX_HANDOVER_CHUNKS },
    );
    for await (const { value } of entries) {
      if (typeof value?.data === "string" && typeof value.mac === "string") {
        chunks.push({ data: value.data, mac: value.mac });
      }
    }
    return chunks;
  }
}
