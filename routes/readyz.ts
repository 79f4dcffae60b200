import type { AppEnv } from "../lib/context.ts";
import type { Handlers } from "../lib/web/types.ts";

/** Readiness: the store answers and the group layer's bus is connected (503 otherwise). */
export const handler: Handlers<AppEnv> = {
  async GET(c) {
    const { store, layer } = c.get("services");
    const storeOk = await store.ping();
    const layerOk = layer.ready?.() ?? true;
    c.header("Cache-Control", "no-store");
    return c.json(
      { ok: storeOk && layerOk, store: storeOk, layer: layerOk },
      storeOk && layerOk ? 200 : 503,
    );
  },
};
