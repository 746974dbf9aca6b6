import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { tempYaml } from '../../helpers/config.js';
import { onlyBlock } from '../../helpers/doc-examples.js';
import { ReviewBus, startGraphqlService, type GraphqlService } from '../../helpers/graphql-service.js';
import { startProcess, type NodeProcess } from '../../helpers/node.js';
import { spawnOwned } from '../../helpers/processes.js';

/** The example of docs/gateway.md "GraphQL services": its configuration runs a node as written, and its client runs against it. */
describe('the GraphQL services example of docs/gateway.md', () => {
  const example = onlyBlock('docs/gateway.md', 'GraphQL services', 'yaml');
  let config: ReturnType<typeof tempYaml> | undefined;
  // Beside the compiled tests, so that the example's imports resolve to the project's packages.
  const script = new URL('../../../doc-example-graphql-services.mjs', import.meta.url);
  const services: GraphqlService[] = [];
  let node: NodeProcess | undefined;

  after(async () => {
    node?.kill();
    for (const service of services) await service.kill();
    config?.remove();
    rmSync(script, { force: true });
  });

  it('serves the client snippet: a mutation over HTTP and a subscription over graphql-transport-ws', async () => {
    const bus = new ReviewBus();
    // The example names fixed ports; the instances listen on free ones, put in their place.
    const exampleFile = tempYaml(example);
    const { instances } = loadConfig({ file: exampleFile.path }).gateway.services.reviews!;
    exampleFile.remove();
    let yaml = example;
    for (const [i, instance] of instances.entries()) {
      const service = await startGraphqlService(`instance-${i}`, bus);
      services.push(service);
      yaml = yaml.replaceAll(new URL(instance.url).host, new URL(service.url).host);
    }
    config = tempYaml(yaml);
    node = await startProcess(['--config', config.path]);
    writeFileSync(script, onlyBlock('docs/gateway.md', 'GraphQL services', 'js').replaceAll('localhost:8080', `127.0.0.1:${node.port}`));
    const client = spawnOwned(process.execPath, [script.pathname], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    client.stdout!.on('data', (d) => (output += d));
    client.stderr!.on('data', (d) => (output += d));
    const exited = once(client, 'exit');
    // Someone else adds reviews until the client has seen one.
    let stars = 0;
    const adder = setInterval(() => {
      if (output.includes('added')) bus.add((stars++ % 5) + 1);
    }, 50);
    let timer: NodeJS.Timeout | undefined;
    const [code] = await Promise.race([
      exited,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the client did not finish: ${output}`)), 20_000))),
    ]).finally(() => {
      clearTimeout(timer);
      clearInterval(adder);
    });
    assert.equal(code, 0, output);
    const lines = output.trim().split('\n');
    assert.equal(lines[0], 'added {"data":{"addReview":{"id":"1","stars":5}}}');
    assert.match(lines[1]!, /^next review \{"id":"\d+","stars":\d\}$/);
  });
});
