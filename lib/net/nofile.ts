/**
 * The process's open-file limit (`RLIMIT_NOFILE`), which sizes the
 * connection budget. Raising the soft limit to the hard one needs nothing
 * from us: the Deno CLI does it at start (`raise_fd_limit` in
 * `cli/util/unix.rs`), before any script runs, so `deno run` and
 * `deno task start` already have as many descriptors as the system allows
 * (`tests/net/nofile_test.ts` checks that it still does). Only the hard limit
 * (`ulimit -Hn`, `LimitNOFILE=` in systemd, `--ulimit nofile=` in Docker)
 * must be high enough; see README.
 *
 * The limit is read with `getrlimit` through FFI where FFI is allowed (`-A`
 * includes it), else from `/proc/self/limits`.
 *
 * @module
 */

/** The soft and hard limits. */
export interface NofileLimit {
  soft: number;
  hard: number;
}

/** `RLIMIT_NOFILE` and the C library's file name, per OS. */
const PLATFORM: Partial<
  Record<typeof Deno.build.os, { resource: number; libraries: string[] }>
> = {
  linux: {
    resource: 7,
    libraries: ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"],
  },
  darwin: { resource: 8, libraries: ["libSystem.dylib"] },
};

/** What "unlimited" is counted as (Deno's own ceiling when it raises an unlimited limit). */
const UNLIMITED = 1_048_576;

const SYMBOLS = {
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

/**
 * The limits in force, or null when they cannot be read.
 *
 * @example
 * ```ts
 * readNofileLimit(); // { soft: 1048576, hard: 1048576 }
 * ```
 */
export function readNofileLimit(): NofileLimit | null {
  return getrlimit() ?? readProcLimit();
}

function getrlimit(): NofileLimit | null {
  const platform = PLATFORM[Deno.build.os];
  if (!platform) return null;
  let lib: Deno.DynamicLibrary<typeof SYMBOLS> | null = null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return null;
    }
    for (const name of platform.libraries) {
      try {
        lib = Deno.dlopen(name, SYMBOLS);
        break;
      } catch { /* try the next name */ }
    }
    if (!lib) return null;
    const buffer = new BigUint64Array(2);
    if (lib.symbols.getrlimit(platform.resource, buffer) !== 0) return null;
    const cap = (n: bigint) => n >= BigInt(UNLIMITED) ? UNLIMITED : Number(n);
    return { soft: cap(buffer[0]), hard: cap(buffer[1]) };
  } catch {
    return null;
  } finally {
    lib?.close();
  }
}

/** The limits from `/proc/self/limits` (Linux), or null. */
export function readProcLimit(): NofileLimit | null {
  try {
    return parseProcLimits(Deno.readTextFileSync("/proc/self/limits"));
  } catch {
    return null;
  }
}

/**
 * The "Max open files" line of a `/proc/<pid>/limits` text.
 *
 * @example
 * ```ts
 * parseProcLimits("Max open files  1024  4096  files\n"); // { soft: 1024, hard: 4096 }
 * ```
 */
export function parseProcLimits(text: string): NofileLimit | null {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!m) return null;
  const value = (s: string) =>
    s === "unlimited" ? UNLIMITED : Math.min(UNLIMITED, Number(s));
  const soft = value(m[1]);
  const hard = value(m[2]);
  return Number.isFinite(soft) && Number.isFinite(hard) ? { soft, hard } : null;
}
