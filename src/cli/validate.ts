// `cornserve validate <file...>`: every problem in every file (inputs and plans), with positions; exit 1 on any.
import type { Command } from 'commander';
import { formatDiagnostic, type Diagnostic } from '../spec/diagnostics.js';
import { validateFile } from '../spec/load.js';
import { readTraceFile } from '../workload/trace.js';
import { diagnosticJson, printJson, stdoutColours, type GlobalOptions } from './output.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check model graphs, clusters, workloads, profiles, deployments and plans against their schemas and each other')
    .argument('<files...>', 'YAML files (a deployment is checked with every file it references), plan JSON files or traces (.jsonl, .csv)')
    .action((files: string[], _opts: unknown, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      // A trace is one request a line, not a YAML document: its own reader checks every line.
      const diagnostics: Diagnostic[] = files.flatMap((f) => (/\.(jsonl|csv)$/i.test(f) ? readTraceFile(f).diagnostics : validateFile(f)));
      if (global.json) {
        printJson(diagnostics.map(diagnosticJson));
      } else {
        const c = stdoutColours();
        for (const d of diagnostics) {
          const [head, ...frame] = formatDiagnostic(d, true).split('\n');
          process.stdout.write(`${c.red(head)}\n${frame.length ? c.dim(frame.join('\n')) + '\n' : ''}`);
        }
        const bad = new Set(diagnostics.map((d) => d.file)).size;
        process.stdout.write(
          diagnostics.length === 0
            ? `${c.green('ok')}: ${files.length} file(s) valid\n`
            : `${diagnostics.length} error(s) in ${bad} of ${files.length} file(s)\n`,
        );
      }
      if (diagnostics.length > 0) process.exitCode = 1;
    });
}
