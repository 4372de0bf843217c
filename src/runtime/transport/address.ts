// Where a tensor endpoint listens: a Unix-domain socket on one host, TCP across hosts. Written
// as a string (`unix:/run/x.sock`, `tcp:10.0.0.2:7100`) in control messages and logs.

export type PeerAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function formatAddress(a: PeerAddress): string {
  return a.kind === 'unix' ? `unix:${a.path}` : `tcp:${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

export function parseAddress(s: string): PeerAddress {
  if (s.startsWith('unix:')) return { kind: 'unix', path: s.slice(5) };
  const m = /^tcp:(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s);
  if (m) return { kind: 'tcp', host: m[1] ?? m[2], port: Number(m[3]) };
  throw new Error(`bad tensor endpoint address '${s}' (expected unix:/path or tcp:host:port)`);
}

/** Unix socket paths are limited to 107 bytes on Linux (sun_path is 108 with the NUL). */
export const MAX_UNIX_PATH_BYTES = 107;
