/// <reference lib="deno.worker" />
/**
 * One `kv` layer instance inside a Deno Worker (as one of `WORKERS=N`),
 * driven by the parent: open, join, send, close. Every frame its member
 * receives is posted back with the time it arrived (`performance.timeOrigin
 * + now()`, a clock every worker of the process shares).
 */
import { KvLayer } from "../../../lib/chat/kv_layer.ts";
import { newChannelName } from "../../../lib/chat/layer.ts";
import { quietLogger } from "../../../lib/log.ts";
import { countingKv, type KvCounts } from "../../_helpers/counting_kv.ts";

/** What the parent asks. */
export type KvWorkerCommand =
  | { op: "open"; path: string; namespace: string }
  | { op: "join"; group: string }
  /**
   * `count` message events, texts `${label}0`… `together`: all made before
   * any is written (group commit); else each awaited before the next (one
   * write each, as fast as KV takes them).
   */
  | {
    op: "send";
    group: string;
    label: string;
    count: number;
    together: boolean;
  }
  /** Only the reply: the counts so far. */
  | { op: "counts" }
  | { op: "close" };

/** What the worker posts back. */
export type KvWorkerReply =
  | { kind: "frame"; frame: string; at: number }
  | { kind: "done"; op: KvWorkerCommand["op"]; counts: KvCounts };

let layer: KvLayer | null = null;
let counts: KvCounts = { commits: 0, reads: 0, lists: 0, watches: 0 };

const now = () => performance.timeOrigin + performance.now();
const reply = (message: KvWorkerReply) => self.postMessage(message);

self.onmessage = async (event: MessageEvent<KvWorkerCommand>) => {
  const command = event.data;
  switch (command.op) {
    case "open": {
      const wrapped = countingKv(await Deno.openKv(command.path));
      counts = wrapped.counts;
      layer = new KvLayer(
        wrapped.kv,
        { namespace: command.namespace, log: quietLogger },
        true,
      );
      break;
    }
    case "join":
      await layer!.groupAdd(command.group, {
        name: newChannelName(),
        send: (frame) => reply({ kind: "frame", frame, at: now() }),
      });
      break;
    case "send": {
      const sends: Promise<void>[] = [];
      for (let i = 0; i < command.count; i++) {
        const sent = layer!.groupSend(command.group, {
          type: "message",
          message: {
            id: crypto.randomUUID(),
            seq: i + 1,
            room: command.group,
            user: { id: "u1", name: "Ana", kind: "guest" },
            text: `${command.label}${i}`,
            ts: now(),
            clientId: `c-${i}`,
          },
        });
        if (command.together) sends.push(sent);
        else await sent;
      }
      await Promise.all(sends);
      break;
    }
    case "counts":
      break;
    case "close":
      await layer?.close();
      break;
    default: {
      const _exhaustive: never = command;
      throw new Error(`unknown command ${JSON.stringify(_exhaustive)}`);
    }
  }
  reply({ kind: "done", op: command.op, counts: { ...counts } });
};
