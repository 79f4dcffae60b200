/**
 * Counters for operations: kept in-process (served as JSON at `/metrics`) and
 * reported through OpenTelemetry, which Deno exports when run with
 * `OTEL_DENO=true` (a no-op otherwise). High-frequency counts (frames out)
 * are plain increments, observed by OpenTelemetry only when it collects.
 *
 * @module
 */

import { metrics as otel } from "@opentelemetry/api";

/** Totals since start. */
export interface MetricTotals {
  connectionsOpened: number;
  connectionsOpen: number;
  /** Closes by WebSocket close code. */
  closesByCode: Record<string, number>;
  messagesIn: number;
  framesOut: number;
  /** Frames or sockets dropped, by reason (slow_reader, rate_limited, refused_*). */
  drops: Record<string, number>;
}

/** The app's counters. */
export class Metrics {
  readonly totals: MetricTotals = {
    connectionsOpened: 0,
    connectionsOpen: 0,
    closesByCode: {},
    messagesIn: 0,
    framesOut: 0,
    drops: {},
  };
  readonly #meter = otel.getMeter("roomcast");
  readonly #opened = this.#meter.createCounter("roomcast.connections.opened");
  readonly #closed = this.#meter.createCounter("roomcast.connections.closed");
  readonly #messagesIn = this.#meter.createCounter("roomcast.messages.in");
  readonly #drops = this.#meter.createCounter("roomcast.drops");

  constructor() {
    this.#meter.createObservableCounter("roomcast.frames.out").addCallback((
      r,
    ) => r.observe(this.totals.framesOut));
    this.#meter.createObservableGauge("roomcast.connections.open").addCallback((
      r,
    ) => r.observe(this.totals.connectionsOpen));
  }

  connectionOpened(): void {
    this.totals.connectionsOpened++;
    this.totals.connectionsOpen++;
    this.#opened.add(1);
  }

  connectionClosed(code: number): void {
    this.totals.connectionsOpen--;
    this.totals.closesByCode[code] = (this.totals.closesByCode[code] ?? 0) + 1;
    this.#closed.add(1, { code });
  }

  messageIn(): void {
    this.totals.messagesIn++;
    this.#messagesIn.add(1);
  }

  frameOut(): void {
    this.totals.framesOut++;
  }

  drop(reason: string): void {
    this.totals.drops[reason] = (this.totals.drops[reason] ?? 0) + 1;
    this.#drops.add(1, { reason });
  }
}
