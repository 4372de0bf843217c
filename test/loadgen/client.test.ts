// Which server URLs are this machine: a load generator there shares the server's cores, which
// `bench --compare-sim` counts (cost/gateway.ts unitsAtRate).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackUrl } from '../../src/loadgen/client.js';

test('loopback addresses are this machine, other hosts are not', () => {
  for (const url of ['http://127.0.0.1:8000', 'http://localhost:8000/v1', 'http://[::1]:9000', 'https://127.1.2.3'])
    assert.equal(isLoopbackUrl(url), true, url);
  for (const url of ['http://10.0.0.5:8000', 'http://gpu-node-1:8000', 'http://128.0.0.1', 'http://127.example.com'])
    assert.equal(isLoopbackUrl(url), false, url);
});
