// The latency of one message between two processes of the serving runtime on this machine: the
// gateway sends each executor its invocations, and each executor its answer back, over a
// child-process IPC channel with advanced serialization (supervisor/process.ts). This times
// that very channel against an echo child: half the median round trip of an invocation-shaped
// message is one hop.
import { spawn } from 'node:child_process';
import { ProfileError } from './graphs.js';

/** Untimed round trips first (the child's JIT, the channel's buffers). */
const WARMUP_ROUND_TRIPS = 20;
/** The echo child: every message straight back. */
const ECHO_SOURCE = "process.on('message', (m) => process.send(m));";

/** A message of the size and shape of a text request's invocation (protocol.ts `invoke`). */
function invocationLike(i: number): unknown {
  return {
    type: 'invoke',
    requestId: `hop-${i}`,
    invocation: { component: 'llm', requestType: 't2t', inputs: [], outputs: [], emits: ['text'] },
    payload: { messages: [{ role: 'user', content: [{ type: 'text', text: 'x'.repeat(64) }] }], params: { maxTokens: 32 } },
  };
}

export interface HopMeasurement {
  /** Half the median round trip, ms. */
  hopMs: number;
  /** The median and p90 round trips, ms. */
  roundTripP50Ms: number;
  roundTripP90Ms: number;
}

/** Times `roundTrips` invocation-shaped messages to an echo child process and back, one at a time. */
export async function measureHop(roundTrips: number): Promise<HopMeasurement> {
  if (!(roundTrips >= 1)) throw new ProfileError(`hop round trips must be at least 1, got ${roundTrips}`);
  const child = spawn(process.execPath, ['-e', ECHO_SOURCE], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
  try {
    const once = (i: number) =>
      new Promise<number>((resolve, reject) => {
        const startedAt = performance.now();
        const onExit = () => reject(new ProfileError('the echo process for the hop measurement exited early'));
        child.once('exit', onExit);
        child.once('message', () => {
          child.off('exit', onExit);
          resolve(performance.now() - startedAt);
        });
        child.send(invocationLike(i) as never);
      });
    for (let i = 0; i < WARMUP_ROUND_TRIPS; i++) await once(i);
    const times: number[] = [];
    for (let i = 0; i < roundTrips; i++) times.push(await once(i));
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
    const round = (ms: number) => Math.round(ms * 1e4) / 1e4;
    return { hopMs: round(at(0.5) / 2), roundTripP50Ms: round(at(0.5)), roundTripP90Ms: round(at(0.9)) };
  } finally {
    child.kill();
  }
}
