import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { envName } from '../../../src/config/load.js';
import { runCli } from '../../helpers/cli.js';
import { tempYaml } from '../../helpers/config.js';
import { get, startProcess } from '../../helpers/node.js';

const publicKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** A broken value for every key and URL setting, and the message that must name it. */
const broken: { path: string; value: unknown; message: RegExp }[] = [
  { path: 'auth.jwt.publicKeys', value: ['-----BEGIN PUBLIC KEY-----\nMIIBnotakey\n-----END PUBLIC KEY-----\n'], message: /\[0\]: not a PEM public key/ },
  { path: 'auth.jwt.publicKeys', value: ['ssh-rsa AAAAB3Nza'], message: /\[0\]: not a PEM public key/ },
  { path: 'auth.jwt.jwksUrl', value: 'keys.example.com/jwks.json', message: /not a URL/ },
  { path: 'auth.connectHook.url', value: 'ftp://hooks.example.com/connect', message: /must start with http:\/\/ or https:\/\// },
  { path: 'auth.disconnectHook.url', value: 'http//hooks', message: /not a URL/ },
  { path: 'channels.default.subscribeHook', value: 'hooks/subscribe', message: /not a URL/ },
  { path: 'channels.default.publishHook', value: 'mailto:hooks@example.com', message: /must start with http:\/\/ or https:\/\// },
  { path: 'cluster.advertiseUrl', value: 'node-1:8080', message: /must start with http:\/\/ or https:\/\// },
  { path: 'broker.redis.url', value: 'http://127.0.0.1:6379', message: /must start with redis:\/\/ or rediss:\/\// },
  { path: 'broker.nats.servers', value: 'nats://a:4222,redis://b:6379', message: /\[1\]: .*must start with nats:\/\/, tls:\/\/, ws:\/\/ or wss:\/\// },
  { path: 'bridges.redis.url', value: 'redis//x', message: /not a URL/ },
  { path: 'bridges.nats.servers', value: 'nats://', message: /has no host/ },
];

const asFlag = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

function noStack(stderr: string): void {
  assert.doesNotMatch(stderr, /\n\s+at /, `no stack trace:\n${stderr}`);
}

describe('keys and URLs are checked at start', () => {
  it('reads a JSON-encoded PEM public key from a flag and a variable as from a file', async () => {
    const file = tempYaml(toYaml({ api: { insecure: true }, auth: { jwt: { publicKeys: [publicKey] } } }));
    try {
      const runs = await Promise.all([
        runCli(['config', 'print', '--api.insecure', '--auth.jwt.publicKeys', JSON.stringify([publicKey])]),
        runCli(['config', 'print', '--api.insecure'], { SWITCHBOARD_AUTH_JWT_PUBLIC_KEYS: JSON.stringify([publicKey]) }),
        runCli(['config', 'print', '--config', file.path]),
      ]);
      for (const res of runs) {
        assert.equal(res.code, 0, res.stderr);
        assert.deepEqual(parseYaml(res.stdout).auth.jwt.publicKeys, [publicKey]);
      }
    } finally {
      file.remove();
    }
  });

  it('serve with a JSON-encoded PEM public key flag starts', async () => {
    const proc = await startProcess(['--api.insecure', '--auth.jwt.publicKeys', JSON.stringify([publicKey])]);
    try {
      assert.equal((await get(`${proc.url}/healthz`)).status, 200);
    } finally {
      proc.kill();
    }
  });

  it('names the setting of every broken key or URL, from a flag, a variable or the file, with code 2 and no stack trace', async () => {
    for (const { path, value, message } of broken) {
      const file = tempYaml(toYaml({ api: { insecure: true }, ...nested(path, value) }));
      try {
        const runs = [
          { where: `flag --${path}`, res: await runCli(['serve', '--api.insecure', `--${path}`, asFlag(value)]) },
          { where: `environment ${envName(path)}`, res: await runCli(['serve', '--api.insecure'], { [envName(path)]: asFlag(value) }) },
          { where: `config file ${file.path}: ${path}`, res: await runCli(['serve', '--config', file.path]) },
        ];
        for (const { where, res } of runs) {
          assert.equal(res.code, 2, `${where}: ${res.stderr}${res.stdout}`);
          noStack(res.stderr);
          assert.ok(res.stderr.includes(where), `${where} is named in:\n${res.stderr}`);
          assert.match(res.stderr, message, where);
        }
      } finally {
        file.remove();
      }
    }
  });

  it('reports a broken key with the other problems', async () => {
    const res = await runCli(['config', 'print', '--auth.jwt.publicKeys', 'not-a-key', '--sessions.heartbeatInterval', 'soon', '--broker.redis.url', 'nope']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /flag --auth\.jwt\.publicKeys\[0\]: not a PEM public key/);
    assert.match(res.stderr, /flag --sessions\.heartbeatInterval: expected a duration/);
    assert.match(res.stderr, /flag --broker\.redis\.url: "nope" is not a URL/);
  });
});

function nested(path: string, value: unknown): Record<string, unknown> {
  return path.split('.').reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), value as Record<string, unknown>);
}
