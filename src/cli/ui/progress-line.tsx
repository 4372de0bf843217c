// The ink view of one ProgressState: label, bar, percentage and detail on one line.
import { Text } from 'ink';
import { progressBar, type ProgressState } from './progress-format.js';

export function ProgressLine({ progress }: { progress: ProgressState }) {
  const colour = progress.state === 'done' ? 'green' : progress.state === 'failed' ? 'red' : 'cyan';
  const mark = progress.state === 'done' ? '✓' : progress.state === 'failed' ? '✗' : '…';
  const pct = progress.fraction !== undefined ? `${Math.round(Math.min(Math.max(progress.fraction, 0), 1) * 100)}%` : '';
  return (
    <Text wrap="truncate-end">
      <Text color={colour}>{mark}</Text> <Text bold>{progress.label}</Text>
      {progress.fraction !== undefined ? ` ${progressBar(progress.fraction)} ${pct}` : ''}
      {progress.detail ? <Text dimColor> {progress.detail}</Text> : null}
    </Text>
  );
}
