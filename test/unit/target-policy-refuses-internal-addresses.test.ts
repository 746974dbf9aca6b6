import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { parseTargetList, TargetPolicy } from '../../src/outbound/targets.js';

const refused = async (policy: TargetPolicy, url: string) =>
  assert.rejects(policy.check(url, 'push'), (err: Error & { code?: string }) => err.code === 'forbidden_target', `${url} is refused`);

describe('the target policy', () => {
  it('refuses internal addresses in every spelling', async () => {
    const policy = new TargetPolicy([], new Registry());
    for (const url of [
      'http://127.0.0.1/',
      'http://127.1.2.3:8080/',
      'http://0x7f000001/',
      'http://017700000001/',
      'http://0.0.0.0/',
      'http://[::]/',
      'http://[::1]/',
      'http://[0:0:0:0:0:0:0:1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:7f00:1]/',
      'http://[::ffff:a9fe:a9fe]/',
      'http://[64:ff9b::a00:1]/',
      'http://[::127.0.0.1]/',
      'http://169.254.169.254/',
      'http://[fe80::1]/',
      'http://10.1.2.3/',
      'http://172.31.255.255/',
      'http://192.168.0.1/',
      'http://100.100.100.200/',
      'http://192.0.0.192/',
      'http://[fd00:ec2::254]/',
      'http://224.0.0.1/',
      'http://255.255.255.255/',
      'grpc://127.0.0.1:50051',
      'grpc://[::1]:50051',
      'http://localhost/',
      'http://name-that-does-not-resolve.invalid/',
    ]) {
      await refused(policy, url);
    }
  });

  it('lets public addresses through', async () => {
    const policy = new TargetPolicy([], new Registry());
    for (const url of ['http://203.0.113.7/', 'https://8.8.8.8/', 'http://172.32.0.1/', 'http://100.128.0.1/', 'http://[2001:db8::1]/', 'http://[::ffff:8.8.8.8]/']) {
      await policy.check(url, 'push');
    }
  });

  it('lets listed networks, addresses and names through, and nothing else', async () => {
    const policy = new TargetPolicy(['10.20.0.0/16', '127.0.0.1', '::1', 'localhost', '*.internal.example'], new Registry());
    for (const url of ['http://10.20.3.4/', 'http://127.0.0.1/', 'http://[::1]/', 'http://localhost/', 'http://hooks.internal.example/']) {
      await policy.check(url, 'gateway');
    }
    for (const url of ['http://10.21.0.1/', 'http://127.0.0.2/', 'http://169.254.169.254/']) await refused(policy, url);
  });

  it('reads CIDRs, addresses and names, and refuses anything else', () => {
    assert.doesNotThrow(() => parseTargetList(['10.0.0.0/8', '127.0.0.1', 'fd00::/8', '[::1]', 'hooks.example', '*.svc.cluster.local']));
    for (const bad of ['10.0.0.0/33', '::1/129', '10.0.0.0/x', 'http://x', 'a b', '*']) assert.throws(() => parseTargetList([bad]), /allowedPrivateTargets|CIDR|prefix/, bad);
  });
});
