import assert from "node:assert/strict";
import { parseProcLimits } from "../../lib/net/nofile.ts";

Deno.test("parseProcLimits: the Max open files line", () => {
  const text =
    "Limit                     Soft Limit           Hard Limit           Units\n" +
    "Max processes             127431               127431               processes\n" +
    "Max open files            1024                 524288               files\n";
  assert.deepEqual(parseProcLimits(text), { soft: 1024, hard: 524288 });
  assert.deepEqual(
    parseProcLimits("Max open files  unlimited  unlimited  files"),
    { soft: 1_048_576, hard: 1_048_576 },
  );
  assert.equal(parseProcLimits("nothing here"), null);
});

Deno.test("a Deno process started with a low soft nofile limit runs with the hard limit, and reads it", async () => {
  const module = new URL("../../lib/net/nofile.ts", import.meta.url).href;
  const script = `import { readNofileLimit, readProcLimit } from "${module}";
console.log(JSON.stringify({ ffi: readNofileLimit(), proc: readProcLimit() }));`;
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -Sn 512 && ulimit -Hn 4096 && exec "$@"`,
      "bash",
      Deno.execPath(),
      "eval",
      script,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(out.success);
  const { ffi, proc } = JSON.parse(new TextDecoder().decode(out.stdout));
  // Deno raised 512 to the hard limit before the script ran (so Roomcast need not).
  assert.deepEqual(proc, { soft: 4096, hard: 4096 });
  assert.deepEqual(ffi, proc);
});
