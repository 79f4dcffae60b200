import assert from "node:assert/strict";
import {
  benchText,
  classifyFrame,
  isReaction,
  parseBenchText,
  reactionClientId,
  Tally,
} from "../../bench/client.ts";
import {
  CLIENT_BOUND_CPU_PCT,
  fdShortfall,
  judgeStep,
  loadGeneratorNote,
  MAX_RAMP_STEPS,
  nextStep,
  type RampConfig,
  rssStable,
  type StepFigures,
  type StepOutcome,
} from "../../bench/decide.ts";
import { ALL_SCENARIOS, parseArgs, UsageError } from "../../bench/options.ts";
import { checkRoom } from "../../bench/storm_client.ts";
import {
  bareMainThreadBound,
  sessionCounts,
} from "../../bench/scenarios/storm.ts";
import {
  cpuPerConnectUs,
  type IdleResult,
} from "../../bench/scenarios/idle.ts";

const config: RampConfig = {
  startRate: 200,
  stepFactor: 1.5,
  maxRate: 20_000,
  bisect: 2,
};

/** Runs the planner against a server that passes every rate ≤ `capacity`. */
function plan(capacity: number, c: RampConfig = config): StepOutcome[] {
  const history: StepOutcome[] = [];
  for (;;) {
    const next = nextStep(history, c);
    if (next.done) return history;
    history.push({
      rate: next.rate,
      kind: next.kind,
      passed: next.rate <= capacity,
    });
  }
}

/** Runs `deno run -A bench/run.ts` with `args`; its JSON report (the last line), after asserting it succeeded. */
async function benchReport(
  args: string[],
  timeoutMs: number,
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bench/run.ts", ...args],
    cwd: new URL("../..", import.meta.url).pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `bench failed:\n${stdout}\n${stderr}`);
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

Deno.test("nextStep: ramps ×factor from the start rate while steps pass", () => {
  const rates = plan(1_000).filter((s) => s.kind === "ramp").map((s) => s.rate);
  assert.deepEqual(rates, [200, 300, 450, 675, 1013]);
});

Deno.test("nextStep: after the first fail, bisects twice between last pass and first fail", () => {
  const history = plan(1_000);
  const bisects = history.filter((s) => s.kind === "bisect");
  // 675 passed, 1013 failed → 844 (pass) → 929 (pass)
  assert.deepEqual(bisects.map((s) => s.rate), [844, 929]);
  assert.deepEqual(nextStep(history, config), {
    done: true,
    reason: "bisected",
  });
});

Deno.test("nextStep: a failing bisection lowers the upper bound", () => {
  const history = plan(700);
  assert.deepEqual(
    history.filter((s) => s.kind === "bisect").map((s) => s.rate),
    [844, 760], // 844 fails → between 675 and 844
  );
});

Deno.test("nextStep: no bisection when asked for none, or when the first step fails", () => {
  assert.equal(
    plan(1_000, { ...config, bisect: 0 }).filter((s) => s.kind === "bisect")
      .length,
    0,
  );
  const history = plan(100);
  assert.equal(history.length, 1);
  assert.deepEqual(nextStep(history, config), {
    done: true,
    reason: "first-step-failed",
  });
});

Deno.test("nextStep: stops at the rate cap, which is tried exactly", () => {
  const history = plan(1e9, { ...config, maxRate: 1_000 });
  assert.deepEqual(history.map((s) => s.rate), [200, 300, 450, 675, 1_000]);
  assert.deepEqual(nextStep(history, { ...config, maxRate: 1_000 }), {
    done: true,
    reason: "max-rate",
  });
});

Deno.test("nextStep: never plans more than MAX_RAMP_STEPS", () => {
  const history = plan(1e12, { ...config, stepFactor: 1.05, maxRate: 1e9 });
  assert.equal(history.length, MAX_RAMP_STEPS);
});

const good: StepFigures = {
  planned: 1_000,
  sent: 1_000,
  windowS: 5,
  plannedWindowS: 5,
  expected: 25_000,
  inTime: 25_000,
  lost: 0,
  p99: 40,
  unexpectedCloses: 0,
  resyncs: 0,
  errors: 0,
  serverDied: false,
};

Deno.test("judgeStep: a clean step passes", () => {
  assert.deepEqual(judgeStep(good, 250), { passed: true, reasons: [] });
});

Deno.test("judgeStep: each criterion fails on its own, with a reason", () => {
  const cases: [Partial<StepFigures>, RegExp][] = [
    [{ p99: 250 }, /p99 250 ms ≥ 250/],
    [{ p99: null }, /no deliveries/],
    [{ lost: 1 }, /lost 1/],
    [{ inTime: 24_000 }, /in time 96\.0 % < 97 %/],
    [{ unexpectedCloses: 2 }, /2 closes/],
    [{ resyncs: 1 }, /1 resyncs/],
    [{ errors: 3 }, /3 error frames/],
    [{ windowS: 6 }, /client offered 83 % of the rate/],
    [{ serverDied: true }, /server exited/],
    [{ sent: 0, expected: 0, inTime: 0 }, /nothing sent/],
  ];
  for (const [change, reason] of cases) {
    const j = judgeStep({ ...good, ...change }, 250);
    assert.equal(j.passed, false, JSON.stringify(change));
    assert.ok(
      j.reasons.some((r) => reason.test(r)),
      `${JSON.stringify(change)}: ${j.reasons}`,
    );
  }
  // 97 % in time is enough (the rest arrived late, not lost).
  assert.equal(judgeStep({ ...good, inTime: 24_250 }, 250).passed, true);
});

Deno.test("rssStable: within 1 % is stable", () => {
  assert.equal(rssStable(100_000, 100_900), true);
  assert.equal(rssStable(100_000, 101_100), false);
  assert.equal(rssStable(101_100, 100_000), false);
});

Deno.test("loadGeneratorNote: only when the clients used enough of a core to be the limit", () => {
  assert.equal(loadGeneratorNote(null), null);
  assert.equal(loadGeneratorNote(CLIENT_BOUND_CPU_PCT - 1), null);
  assert.notEqual(loadGeneratorNote(CLIENT_BOUND_CPU_PCT), null);
  assert.equal(
    loadGeneratorNote(92.4),
    "the client used 92 % of a core: the load generator shares the host and may be the limit",
  );
});

Deno.test("bareMainThreadBound: a bare storm whose busiest client thread was near a core is also estimated at the bare server's own main thread; not a timed-out one", () => {
  const roomcast = {
    target: "roomcast" as const,
    sockets: 10_000,
    allBackMs: 6_361,
    clientBusiestThreadCpuPct: 65,
    serverMainCpuUsPerReconnect: 469,
  };
  const bare = {
    target: "bare" as const,
    sockets: 10_000,
    allBackMs: 3_252,
    clientBusiestThreadCpuPct: 92,
    serverMainCpuUsPerReconnect: 166,
  };
  const bound = bareMainThreadBound([roomcast, bare]);
  assert.equal(bound?.bareMs, 1_660);
  assert.equal(bound?.roomcastRate?.toFixed(2), "0.26");
  assert.equal(bareMainThreadBound([bare])?.roomcastRate, null);
  // Not client-bound, or no CPU figure: the measured time stands alone.
  assert.equal(
    bareMainThreadBound([roomcast, { ...bare, clientBusiestThreadCpuPct: 60 }]),
    null,
  );
  assert.equal(
    bareMainThreadBound([roomcast, { ...bare, allBackMs: null }]),
    null,
  );
  assert.equal(
    bareMainThreadBound([roomcast, {
      ...bare,
      serverMainCpuUsPerReconnect: null,
    }]),
    null,
  );
});

Deno.test("fdShortfall: asks for ulimit -n only when sockets + headroom exceed it", () => {
  assert.equal(fdShortfall(10_000, 20_000), null);
  assert.equal(fdShortfall(9_800, 10_000), null);
  const message = fdShortfall(10_000, 1_024);
  assert.match(message ?? "", /ulimit -n is 1024/);
  assert.match(message ?? "", /ulimit -n 20000/);
});

Deno.test("benchText/parseBenchText: the tag survives, padded to the size", () => {
  const text = benchText("m", 7, 1234.5678, "r3c4", 80);
  assert.equal(text.length, 80);
  assert.ok(text.startsWith("bench m7 1234.568 r3c4 x"));
  assert.deepEqual(parseBenchText(text), {
    phase: "m",
    step: 7,
    sentAt: 1234.568,
  });
  assert.equal(parseBenchText("hello there friend"), null);
  assert.equal(parseBenchText("bench q1 12 id"), null);
  assert.equal(parseBenchText("bench m 12 id"), null);
  assert.equal(parseBenchText(42), null);
});

Deno.test("classifyFrame: Roomcast's nested message, bare's relayed one, and the rest", () => {
  const text = benchText("w", 2, 99.5, "r0c0", 60);
  const roomcast = JSON.stringify({
    type: "message",
    message: {
      id: "x",
      seq: 3,
      room: "bench-0",
      user: { id: "u", name: "bench-1" },
      text,
      ts: 1,
      clientId: "c",
    },
  });
  const tag = { phase: "w", step: 2, sentAt: 99.5 };
  assert.deepEqual(classifyFrame(roomcast), { kind: "message", tag });
  const bare = JSON.stringify({ type: "message", text, clientId: "c" });
  assert.deepEqual(classifyFrame(bare), { kind: "message", tag });
  // Another key order still works (through the parse).
  assert.deepEqual(
    classifyFrame(JSON.stringify({ text, type: "message" })),
    { kind: "message", tag },
  );
  assert.deepEqual(
    classifyFrame('{"type":"message","text":"hi","clientId":"c"}'),
    { kind: "message", tag: null },
  );
  assert.deepEqual(classifyFrame('{"type":"presence","joins":{}}'), {
    kind: "presence",
  });
  assert.deepEqual(classifyFrame('{"type":"welcome","history":[]}'), {
    kind: "welcome",
  });
  assert.deepEqual(classifyFrame('{"type":"error","code":"rate_limited"}'), {
    kind: "error",
    code: "rate_limited",
  });
  assert.deepEqual(classifyFrame('{"type":"resync"}'), { kind: "resync" });
  assert.deepEqual(classifyFrame('{"type":"history","messages":[]}'), {
    kind: "other",
  });
  assert.deepEqual(classifyFrame("not json"), { kind: "bad" });
});

Deno.test("reactions: the tag survives in a clientId; Roomcast's event and bare's relayed react are measured deliveries", () => {
  const clientId = reactionClientId("m", 4, 1234.5678, "r3c4", 17);
  assert.match(clientId, /^[\w-]{1,64}$/, "a valid clientId");
  const tag = { phase: "m", step: 4, sentAt: 1234.568 };
  const event = JSON.stringify({
    type: "event",
    event: {
      kind: "react",
      target: 9,
      emoji: "👍",
      on: true,
      seq: 12,
      room: "bench-0",
      user: { id: "u", name: "bench-1" },
      ts: 1,
      clientId,
    },
  });
  assert.deepEqual(classifyFrame(event), { kind: "message", tag });
  const relayed = JSON.stringify({
    type: "react",
    target: 1,
    emoji: "👍",
    on: false,
    clientId,
  });
  assert.deepEqual(classifyFrame(relayed), { kind: "message", tag });
  // Someone else's event (an edit from a person) is not measured.
  assert.deepEqual(
    classifyFrame('{"type":"event","event":{"kind":"edit","clientId":"e1"}}'),
    { kind: "other" },
  );
});

Deno.test("isReaction: exactly the asked share of sends, spread evenly", () => {
  for (const percent of [0, 10, 25, 50]) {
    const picks = Array.from(
      { length: 1_000 },
      (_, k) => isReaction(k, percent),
    );
    assert.equal(picks.filter(Boolean).length, percent * 10, `${percent} %`);
    // Never two reactions in a row below 50 %.
    if (percent < 50) {
      assert.ok(!picks.some((p, k) => p && picks[k + 1]), `${percent} %`);
    }
  }
});

Deno.test("Tally: counts per step; other steps are stray, after the deadline late", () => {
  const t = new Tally(3, 2);
  t.sent[0] = 2;
  t.sent[1] = 1;
  t.rateLimited[1] = 1;
  t.deliver({ phase: "m", step: 3, sentAt: 0 }, 0, 10);
  t.deliver({ phase: "m", step: 3, sentAt: 5 }, 0, 12);
  t.deliver({ phase: "w", step: 3, sentAt: 0 }, 0, 12);
  t.deliver({ phase: "m", step: 2, sentAt: 0 }, 1, 13);
  t.deadline = 20;
  t.deliver({ phase: "m", step: 3, sentAt: 0 }, 1, 30);
  assert.deepEqual(t.received, [2, 0]);
  assert.equal(t.late, 1);
  assert.equal(t.delivered, 3);
  assert.equal(t.warmupReceived, 1);
  assert.equal(t.stray, 1);
  assert.equal(t.lastDeliveryAt, 12);
  // (2 − 0) × 5 members + (1 − 1) × 5
  assert.equal(t.expected(() => 5), 10);
  assert.deepEqual(t.latencies.summary(), {
    n: 3,
    p50: 10,
    p99: 30,
    max: 30,
    mean: 47 / 3, // 10, 7 and 30 ms
  });
});

Deno.test("Tally: rate_limited replies go to the sender's last phase", () => {
  const t = new Tally(0, 1);
  t.error("rate_limited", "m", 0);
  t.error("rate_limited", "w", 0);
  t.error("internal", "m", 0);
  assert.deepEqual(t.rateLimited, [1]);
  assert.equal(t.warmupRateLimited, 1);
  assert.deepEqual(Object.fromEntries(t.otherErrors), { internal: 1 });
});

Deno.test("parseArgs: defaults run every scenario on both targets", () => {
  const parsed = parseArgs([]);
  assert.equal(parsed.help, false);
  if (parsed.help) return;
  const o = parsed.options;
  assert.deepEqual(o.scenarios, [...ALL_SCENARIOS]);
  assert.deepEqual(o.scenarios, ["idle", "fanout", "ramp"]);
  assert.deepEqual(o.targets, ["roomcast", "bare"]);
  assert.equal(o.sockets, 10_000);
  assert.equal(o.p99Limit, 250);
  assert.equal(o.stepWindow, 5);
  assert.equal(o.rooms, 20);
  assert.equal(o.clients, 25);
});

Deno.test("parseArgs: scenarios, flags and errors", () => {
  const parsed = parseArgs([
    "--scenario=ramp,idle",
    "--target=bare",
    "--sockets=2000",
    "--p99-limit=100",
    "--layer=redis",
  ]);
  assert.ok(!parsed.help);
  if (parsed.help) return;
  assert.deepEqual(parsed.options.scenarios, ["idle", "ramp"]);
  assert.deepEqual(parsed.options.targets, ["bare"]);
  assert.equal(parsed.options.sockets, 2000);
  assert.equal(parsed.options.p99Limit, 100);
  assert.equal(parsed.options.layer, "redis");
  assert.deepEqual(parseArgs(["--help"]), { help: true });
  for (
    const bad of [
      ["--scenario=soak"],
      ["--sockets=1.5"],
      ["--layer=kafka"],
      ["--nope=1"],
      ["positional"],
      ["--start-rate=500", "--max-rate=100"],
    ]
  ) {
    assert.throws(() => parseArgs(bad), UsageError, bad.join(" "));
  }
});

Deno.test("parseArgs: --layer takes every CHANNEL_LAYER, kv included", () => {
  for (const layer of ["memory", "broadcast", "redis", "kv"]) {
    const parsed = parseArgs([`--layer=${layer}`]);
    assert.ok(!parsed.help);
    if (!parsed.help) assert.equal(parsed.options.layer, layer);
  }
});

Deno.test("parseArgs: storm runs only when named, with its flags", () => {
  const parsed = parseArgs([
    "--scenario=storm",
    "--room-size=10",
    "--history=3",
    "--storm-posts=2",
    "--resume=gap",
    "--storm-threads=3",
  ]);
  assert.ok(!parsed.help);
  if (parsed.help) return;
  assert.deepEqual(parsed.options.scenarios, ["storm"]);
  assert.equal(parsed.options.stormThreads, 3);
  const byDefault = parseArgs(["--scenario=storm"]);
  assert.equal(!byDefault.help && byDefault.options.stormThreads, 2);
  assert.throws(() => parseArgs(["--storm-threads=0"]), UsageError);
  assert.equal(parsed.options.roomSize, 10);
  assert.equal(parsed.options.history, 3);
  assert.equal(parsed.options.stormPosts, 2);
  assert.equal(parsed.options.resume, "gap");
  assert.throws(() => parseArgs(["--resume=never"]), UsageError);
});

Deno.test("parseArgs: --processes and --load-processes spread idle over processes; Roomcast needs redis for it", () => {
  const byDefault = parseArgs([]);
  assert.ok(!byDefault.help);
  if (byDefault.help) return;
  assert.equal(byDefault.options.processes, 1);
  assert.equal(byDefault.options.loadProcesses, "auto");
  const fifty = parseArgs([
    "--scenario=idle",
    "--sockets=50000",
    "--processes=3",
    "--layer=redis",
    "--load-processes=4",
  ]);
  assert.ok(!fifty.help);
  if (fifty.help) return;
  assert.equal(fifty.options.processes, 3);
  assert.equal(fifty.options.loadProcesses, 4);
  // The bare server alone needs no layer.
  assert.ok(
    !parseArgs(["--scenario=idle", "--target=bare", "--processes=2"]).help,
  );
  for (
    const bad of [
      ["--scenario=idle", "--processes=3"], // memory layer
      ["--scenario=idle", "--processes=3", "--layer=kv"], // kv does not wake other processes
      ["--processes=2", "--layer=redis"], // every scenario
      ["--scenario=storm", "--processes=2", "--layer=redis"],
      ["--scenario=idle", "--processes=0"],
      ["--scenario=idle", "--load-processes=0"],
      ["--scenario=idle", "--load-processes=some"],
      ["--scenario=idle", "--sockets=50000", "--load-processes=3"], // over 15,000 each
    ]
  ) {
    assert.throws(() => parseArgs(bad), UsageError, bad.join(" "));
  }
});

Deno.test("checkRoom: each client must hold each message once, at seq 1…n", () => {
  const held = (ids: string[]) =>
    ids.map((clientId, i) => ({ seq: i + 1, clientId }));
  assert.deepEqual(
    checkRoom([held(["a", "b"]), held(["a", "b"])], ["a", "b"]),
    {
      missing: 0,
      duplicated: 0,
      wrongOrder: 0,
    },
  );
  assert.deepEqual(checkRoom([held(["a"]), held(["a", "b"])], ["a", "b"]), {
    missing: 1,
    duplicated: 0,
    wrongOrder: 1,
  });
  assert.deepEqual(checkRoom([held(["a", "b", "a"])], ["a", "b"]), {
    missing: 0,
    duplicated: 1,
    wrongOrder: 1,
  });
  assert.deepEqual(
    checkRoom([[{ seq: 2, clientId: "a" }, { seq: 1, clientId: "b" }]], [
      "a",
      "b",
    ]),
    { missing: 0, duplicated: 0, wrongOrder: 1 },
  );
});

Deno.test({
  name:
    "deno task bench --scenario=storm, small: a restart under 100 sockets in 3 client threads, every client back with every message once, on Roomcast and bare",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const report = await benchReport([
      "--scenario=storm",
      "--sockets=100",
      "--room-size=10",
      "--history=3",
      "--storm-posts=2",
      "--storm-threads=3",
    ], 240_000);
    const results = report.scenarios.storm.results;
    assert.deepEqual(results.map((r: { target: string }) => r.target), [
      "roomcast",
      "bare",
    ]);
    for (const r of results) {
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.back, 100);
      assert.equal(r.restartCloses["1012"], 100, JSON.stringify(r));
      // Every thread's clients were counted: 10 rooms over 3 threads.
      assert.equal(r.clientThreads, 3);
      assert.equal(r.backMs.n, 100);
      assert.equal(r.welcomes, 100);
      assert.equal(typeof r.clientBusiestThreadCpuPct, "number");
    }
    const [rc] = results;
    assert.deepEqual(rc.check, { missing: 0, duplicated: 0, wrongOrder: 0 });
    assert.equal(rc.historyPerRoom, 3);
    assert.equal(rc.stormPostsPerRoom, 2);
    // Every Roomcast client came back with ?after= and the server answered
    // its resume: --resume=always (the default) sends none after such a
    // welcome (only a gap seen after the answer asks again).
    assert.ok(rc.resumedWelcomes >= 100, JSON.stringify(rc));
    assert.ok(rc.resumes < 100, JSON.stringify(rc));
    // The restart handed every session over: none was checked again.
    const sessions = sessionCounts(rc.serverMetrics);
    assert.equal(sessions?.checked, 0, JSON.stringify(sessions));
    assert.ok(sessions.remembered >= 100, JSON.stringify(sessions));
    assert.ok(report.summary.ratio.stormAllBackMs > 0);
  },
});

Deno.test({
  name:
    "deno task bench --scenario=idle --processes=2, small: two server processes on one port, two load processes from two source addresses, every socket live, on Roomcast (redis) and bare",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const report = await benchReport([
      "--scenario=idle",
      "--sockets=120",
      "--rooms=3",
      "--processes=2",
      "--load-processes=2",
      "--layer=redis",
      "--hold=0",
    ], 180_000);
    const results = report.scenarios.idle.results;
    assert.deepEqual(results.map((r: { target: string }) => r.target), [
      "roomcast",
      "bare",
    ]);
    for (const r of results) {
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.serverProcesses, 2);
      assert.equal(r.loadProcesses, 2);
      assert.equal(r.sourceAddresses, 2);
      assert.equal(r.socketsOpened, 120);
      assert.equal(r.liveness.delivered, 120);
      assert.ok(r.rssKiB.perSocket > 0, JSON.stringify(r.rssKiB));
    }
    const [rc, bare] = results;
    // Roomcast: one message per room reached the sockets of both processes (redis).
    assert.equal(rc.liveness.messages, 3);
    // bare: no layer, so one message per room per process: the kernel used both.
    assert.equal(bare.liveness.messages, 6);
    assert.ok(report.summary.ratio.idleKiBPerSocket > 0);
  },
});

Deno.test("parseArgs: --listener picks Roomcast's listener for an A/B run (guarded by default)", () => {
  const byDefault = parseArgs([]);
  assert.ok(!byDefault.help && byDefault.options.listener === "guarded");
  const deno = parseArgs(["--listener=deno"]);
  assert.ok(!deno.help && deno.options.listener === "deno");
  assert.throws(() => parseArgs(["--listener=node"]), UsageError);
});

Deno.test("cpuPerConnectUs: the servers' CPU over the connect, per socket opened", () => {
  const result = (
    serverCpuPct: number | null,
    connectMs: number,
    socketsOpened: number,
  ) =>
    ({
      connectCpu: { serverCpuPct, clientCpuPct: null, otherCpuPct: null },
      connectMs,
      socketsOpened,
    }) as unknown as IdleResult;
  // 85 % of a core for 222 s over 50,000 sockets: 3,774 µs each.
  assert.equal(Math.round(cpuPerConnectUs(result(85, 222_000, 50_000))!), 3774);
  assert.equal(cpuPerConnectUs(result(null, 1_000, 10)), null);
  assert.equal(cpuPerConnectUs(result(50, 1_000, 0)), null);
});
