// Runs `cornserve …` in-process and captures what it wrote (much faster than a child process
// per case), restoring process.exitCode: the commands set it, and a leftover 2 would fail the
// test file itself. test/cli/helpers.ts runs the real binary when a child process matters.
import { main } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  const saved = process.exitCode;
  process.exitCode = undefined;
  // The CLI writes strings; node:test's reporter (in a --test child) writes its binary stream to
  // stdout meanwhile, and must get through, or earlier tests' results vanish into this capture.
  const capture = (into: string[], stream: NodeJS.WriteStream, original: typeof process.stdout.write) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) =>
      typeof chunk === 'string'
        ? (into.push(chunk), true)
        : (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest)) as typeof process.stdout.write;
  process.stdout.write = capture(out, process.stdout, writeOut);
  process.stderr.write = capture(err, process.stderr, writeErr);
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    process.exitCode = saved;
  }
}
