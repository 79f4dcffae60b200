/**
 * The process's open-file limit (`RLIMIT_NOFILE`). Deno has no `setrlimit`,
 * so this calls the C library's through FFI (`--allow-ffi`, part of `-A`)
 * to raise the soft limit to the hard one at start. Without FFI (a
 * permission denied, Deno Deploy, another OS) the limit stays as it is and
 * is read from `/proc/self/limits` where there is one.
 *
 * @module
 */

/** The soft and hard limits; null when they cannot be known. */
export interface NofileLimit {
  soft: number;
  hard: number;
}

/** What {@link raiseNofileLimit} did. */
export interface NofileResult {
  /** The limits now in force, or null when unknown. */
  limit: NofileLimit | null;
  /** The soft limit before, when it was raised. */
  raisedFrom?: number;
  /** Why it could not be raised, when it could not (and was not already at the hard limit). */
  problem?: string;
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

/** `RLIM_INFINITY` on Linux and macOS, as read into a double. */
const UNLIMITED = 2 ** 64 - 1;
/** The soft limit asked for when the hard limit is "unlimited" (macOS refuses more than OPEN_MAX). */
const UNLIMITED_SOFT = 1_048_576;

const SYMBOLS = {
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

/**
 * Raises the soft `nofile` limit to the hard limit when FFI allows it, and
 * returns the limits in force.
 *
 * @example
 * ```ts
 * const { limit } = raiseNofileLimit();
 * console.log(limit?.soft); // e.g. 1048576 (was 1024)
 * ```
 */
export function raiseNofileLimit(): NofileResult {
  const platform = PLATFORM[Deno.build.os];
  if (!platform) return { limit: readProcLimit(), problem: "unsupported OS" };
  let lib: Deno.DynamicLibrary<typeof SYMBOLS> | null = null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return { limit: readProcLimit(), problem: "no --allow-ffi" };
    }
    for (const name of platform.libraries) {
      try {
        lib = Deno.dlopen(name, SYMBOLS);
        break;
      } catch { /* try the next name */ }
    }
    if (!lib) return { limit: readProcLimit(), problem: "no C library found" };
    const buffer = new BigUint64Array(2);
    if (lib.symbols.getrlimit(platform.resource, buffer) !== 0) {
      return { limit: readProcLimit(), problem: "getrlimit failed" };
    }
    const soft = Number(buffer[0]);
    const hard = Number(buffer[1]);
    const target = hard >= UNLIMITED ? UNLIMITED_SOFT : hard;
    if (soft >= target) return { limit: { soft, hard } };
    buffer[0] = BigInt(target);
    if (lib.symbols.setrlimit(platform.resource, buffer) !== 0) {
      return { limit: { soft, hard }, problem: "setrlimit failed" };
    }
    return { limit: { soft: target, hard }, raisedFrom: soft };
  } catch (err) {
    return { limit: readProcLimit(), problem: String(err) };
  } finally {
    lib?.close();
  }
}

/** The limits from `/proc/self/limits` (Linux), or null. */
export function readProcLimit(): NofileLimit | null {
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    return parseProcLimits(text);
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
  const value = (s: string) => s === "unlimited" ? UNLIMITED_SOFT : Number(s);
  const soft = value(m[1]);
  const hard = value(m[2]);
  return Number.isFinite(soft) && Number.isFinite(hard) ? { soft, hard } : null;
}
