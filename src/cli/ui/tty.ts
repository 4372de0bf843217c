// Whether to draw live ink views: only on a terminal and never under CI, so logs and pipes get
// plain lines. Views draw on stderr, keeping stdout machine-readable.

export interface TtyStream {
  isTTY?: boolean;
}

/** CI is "set" when it holds anything but an empty string, 0 or false (GitHub, GitLab, … set CI=true). */
export function ciIsSet(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export function isInteractive(stream: TtyStream = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !ciIsSet(env);
}
