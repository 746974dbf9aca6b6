import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { configProblems, tempYaml } from '../helpers/config.js';

describe('config from a YAML file', () => {
  const files: { remove(): void }[] = [];
  const yaml = (text: string) => {
    const file = tempYaml(text);
    files.push(file);
    return file.path;
  };
  after(() => {
    for (const f of files) f.remove();
  });

  it('reads nested settings with durations, sizes, lists and namespaces', () => {
    const file = yaml(`
server:
  host: 127.0.0.1
  port: 9090
api:
  keys: [alpha, beta]
  maxBodyBytes: 256KiB
sessions:
  heartbeatInterval: 10s
  closeGracePeriod: 1500
  lifetime:
    enabled: true
    min: 1m
    max: 2m
channels:
  namespaces:
    chat:
      subscribe: authenticated
      publish: authenticated
      presence: true
    feed: {}
`);
    const config = loadConfig({ file });
    assert.deepEqual({ host: config.server.host, port: config.server.port }, { host: '127.0.0.1', port: 9090 });
    assert.deepEqual(config.api.keys, ['alpha', 'beta']);
    assert.equal(config.api.maxBodyBytes, 256 * 1024);
    assert.equal(config.sessions.heartbeatInterval, 10_000);
    assert.equal(config.sessions.closeGracePeriod, 1500);
    assert.deepEqual(config.sessions.lifetime, { enabled: true, min: 60_000, max: 120_000 });
    assert.deepEqual(Object.keys(config.channels.namespaces).sort(), ['chat', 'feed']);
    // A namespace holds only what it sets; the rest comes from channels.default when channels resolve.
    assert.deepEqual(config.channels.namespaces, {
      chat: { subscribe: 'authenticated', publish: 'authenticated', presence: true },
      feed: {},
    });
    // Settings the file does not mention keep their defaults.
    assert.equal(config.limits.maxFrameBytes, 64 * 1024);
  });

  it('accepts an empty file as no settings', () => {
    const file = yaml('');
    assert.equal(loadConfig({ file, flags: { 'api.insecure': true } }).server.port, 8080);
  });

  it('reports a file that cannot be read, naming the file', () => {
    const missing = join(tmpdir(), `switchboard-missing-${process.pid}.yaml`);
    const problems = configProblems(() => loadConfig({ file: missing, flags: { 'api.insecure': true } }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^config file .*switchboard-missing-\d+\.yaml: cannot be read \(ENOENT\)$/);
  });

  it('reports a file that is not valid YAML', () => {
    const file = yaml('server:\n  port: [8080\n');
    const problems = configProblems(() => loadConfig({ file, flags: { 'api.insecure': true } }));
    assert.equal(problems.length, 1);
    assert.ok(problems[0]!.startsWith(`config file ${file}: not valid YAML`), problems[0]);
  });

  it('reports a file whose top level is not a mapping', () => {
    const file = yaml('- server\n- api\n');
    const problems = configProblems(() => loadConfig({ file, flags: { 'api.insecure': true } }));
    assert.deepEqual(problems, [`config file ${file}: expected a mapping of settings`]);
  });

  it('reports a section given as a scalar, naming the section', () => {
    const file = yaml('sessions: 5\n');
    const problems = configProblems(() => loadConfig({ file, flags: { 'api.insecure': true } }));
    assert.deepEqual(problems, [`config file ${file}: expected a mapping of settings at sessions`]);
  });
});
