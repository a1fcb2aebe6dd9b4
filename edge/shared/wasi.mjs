// A minimal WASI preview 1 for the edges and sdk/js (workerd has none; Node's is
// experimental): the functions the edgeflag module imports. No arguments or environment;
// standard output and error go to the console a line at a time; the clocks are Date.now()
// and performance.now(); randomness is crypto.getRandomValues.

const ESUCCESS = 0;
const EBADF = 8;
const ENOSYS = 52;
const CLOCK_MONOTONIC = 1;

/** Returns the wasi_snapshot_preview1 imports; memory() returns the instance's memory once it exists. */
export function wasiImports(memory) {
  const view = () => new DataView(memory().buffer);
  const decoder = new TextDecoder();
  const pending = { 1: "", 2: "" };
  const noArguments = (count, size) => {
    view().setUint32(count, 0, true);
    view().setUint32(size, 0, true);
    return ESUCCESS;
  };
  return {
    args_sizes_get: noArguments,
    environ_sizes_get: noArguments,
    args_get: () => ESUCCESS,
    environ_get: () => ESUCCESS,
    sched_yield: () => ESUCCESS,
    poll_oneoff: () => ENOSYS,
    proc_exit: (code) => {
      throw new Error(`edgeflag module exited with code ${code}`);
    },
    clock_time_get: (id, _precision, out) => {
      // The monotonic clock (id 1) never goes back, as the Go runtime expects; realtime (0) is Date.now().
      const ns = id === CLOCK_MONOTONIC ? (performance.timeOrigin + performance.now()) * 1e6 : Date.now() * 1e6;
      view().setBigUint64(out, BigInt(Math.round(ns)), true);
      return ESUCCESS;
    },
    random_get: (ptr, len) => {
      for (let i = 0; i < len; i += 65536) crypto.getRandomValues(new Uint8Array(memory().buffer, ptr + i, Math.min(65536, len - i)));
      return ESUCCESS;
    },
    fd_write: (fd, iovs, iovsLen, nwritten) => {
      if (fd !== 1 && fd !== 2) return EBADF;
      const v = view();
      let n = 0;
      for (let i = 0; i < iovsLen; i++) {
        const len = v.getUint32(iovs + i * 8 + 4, true);
        pending[fd] += decoder.decode(new Uint8Array(memory().buffer, v.getUint32(iovs + i * 8, true), len));
        n += len;
      }
      const lines = pending[fd].split("\n");
      pending[fd] = lines.pop();
      for (const line of lines) (fd === 1 ? console.log : console.error)(line);
      v.setUint32(nwritten, n, true);
      return ESUCCESS;
    },
  };
}

/** Instantiates a compiled edgeflag module with this shim and runs _initialize. */
export function instantiateWithShim(module) {
  const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasiImports(() => instance.exports.memory) });
  instance.exports._initialize();
  return instance;
}
