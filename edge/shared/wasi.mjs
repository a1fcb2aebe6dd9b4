// A minimal WASI preview 1 for runtimes without one (workerd): just what the Go runtime of
// the edgeflag module calls. No files, no arguments, no environment; standard output and
// error go to the console; the clock is Date.now(); randomness is crypto.getRandomValues.

const ESUCCESS = 0;
const EBADF = 8;
const ENOSYS = 52;

/** Thrown by proc_exit: the Go runtime exits when it crashes. */
export class WasiExit extends Error {
  constructor(code) {
    super(`edgeflag module exited with code ${code}`);
    this.code = code;
  }
}

/**
 * Returns the wasi_snapshot_preview1 import object; memory() must return the instance's
 * memory once it exists.
 */
export function wasiImports(memory) {
  const view = () => new DataView(memory().buffer);
  const bytes = () => new Uint8Array(memory().buffer);
  const decoder = new TextDecoder();
  const pending = { 1: "", 2: "" };
  const zeroPair = (a, b) => {
    const v = view();
    v.setUint32(a, 0, true);
    v.setUint32(b, 0, true);
    return ESUCCESS;
  };
  return {
    args_sizes_get: zeroPair,
    environ_sizes_get: zeroPair,
    args_get: () => ESUCCESS,
    environ_get: () => ESUCCESS,
    sched_yield: () => ESUCCESS,
    poll_oneoff: () => ENOSYS,
    proc_exit: (code) => {
      throw new WasiExit(code);
    },
    clock_time_get: (_id, _precision, out) => {
      view().setBigUint64(out, BigInt(Date.now()) * 1000000n, true);
      return ESUCCESS;
    },
    random_get: (ptr, len) => {
      const b = bytes();
      for (let i = 0; i < len; i += 65536) {
        crypto.getRandomValues(b.subarray(ptr + i, ptr + Math.min(len, i + 65536)));
      }
      return ESUCCESS;
    },
    fd_write: (fd, iovs, iovsLen, nwritten) => {
      if (fd !== 1 && fd !== 2) return EBADF;
      const v = view();
      const b = bytes();
      let n = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = v.getUint32(iovs + i * 8, true);
        const len = v.getUint32(iovs + i * 8 + 4, true);
        pending[fd] += decoder.decode(b.subarray(ptr, ptr + len));
        n += len;
      }
      let nl;
      while ((nl = pending[fd].indexOf("\n")) >= 0) {
        (fd === 1 ? console.log : console.error)(pending[fd].slice(0, nl));
        pending[fd] = pending[fd].slice(nl + 1);
      }
      v.setUint32(nwritten, n, true);
      return ESUCCESS;
    },
    fd_fdstat_get: (fd, out) => {
      if (fd > 2) return EBADF;
      const v = view();
      v.setUint8(out, 2); // character device
      v.setUint16(out + 2, 0, true);
      v.setBigUint64(out + 8, 0n, true);
      v.setBigUint64(out + 16, 0n, true);
      return ESUCCESS;
    },
    fd_fdstat_set_flags: () => ENOSYS,
    fd_prestat_get: () => EBADF,
    fd_prestat_dir_name: () => EBADF,
  };
}

/** Instantiates a compiled edgeflag module with this shim and runs _initialize. */
export function instantiateWithShim(module) {
  let instance;
  const imports = { wasi_snapshot_preview1: wasiImports(() => instance.exports.memory) };
  instance = new WebAssembly.Instance(module, imports);
  instance.exports._initialize();
  return instance;
}
