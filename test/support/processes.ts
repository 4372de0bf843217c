// Process helpers shared by the tests that start real executor and server processes.

/** Whether a process with this pid still exists (signal 0 checks without touching it). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
