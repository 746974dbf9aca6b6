import type { SwitchboardNode } from '../node.js';
import { apiKeyCheck } from './api-keys.js';
import { registerChannelRoutes } from './channel-routes.js';
import { installErrorHandling } from './errors.js';
import { registerNodeRoutes } from './node-routes.js';
import { registerOpenApiRoute } from './openapi.js';
import { registerPublishRoutes } from './publish-routes.js';
import { registerRevocationRoutes } from './revocation-routes.js';
import { registerRoutingRoutes } from './routing-routes.js';
import { registerSessionRoutes } from './session-routes.js';
import { registerServiceRoutes } from '../gateway/service-routes.js';
import { registerTopicRoutes } from './topic-routes.js';
import { version } from '../version.js';
import type { NodeStats } from '../admin/console.js';
import { consoleApiAccess, registerConsoleRoutes } from '../admin/routes.js';

/** The server HTTP API (docs/api.md). Everything here needs an API key unless api.insecure is set. */
export function registerApiRoutes(node: SwitchboardNode): void {
  installErrorHandling(node.app, node.metrics.stats, node.log);
  const { console } = node;
  // With admin.enabled, read-only keys and console JWTs are admitted too (src/admin/routes.ts).
  const consoleAccess = console && consoleApiAccess(console.credentials);
  node.app.register(async (api) => {
    api.addHook('onRequest', apiKeyCheck(node.config.api, consoleAccess));
    registerPublishRoutes(api, node);
    registerChannelRoutes(api, node);
    registerSessionRoutes(api, node);
    registerNodeRoutes(api, node);
    registerRevocationRoutes(api, node);
    if (node.gateway) registerServiceRoutes(api, node.gateway);
    registerRoutingRoutes(api, node);
    if (console) {
      registerConsoleRoutes(api, {
        credentials: console.credentials,
        insecure: node.config.api.insecure,
        historyMinutes: node.config.admin.historyMinutes,
        nodeStats: async (minutes) => [...(await node.cluster.query({ what: 'node-stats', minutes })).values()].filter((a): a is NodeStats => a !== null && typeof a === 'object'),
        topics: () => console.topicsOverview(),
        gateway: console.gatewayOverview,
      });
    }
  });
  // Topic routes take application keys as well as admin keys, so they check keys themselves.
  node.app.register(async (api) => registerTopicRoutes(api, node.topics, node.config.api, consoleAccess));
  node.app.register(async (app) => registerOpenApiRoute(app, version, { gateway: Boolean(node.gateway), push: node.config.compat.push.enabled, admin: node.config.admin.enabled }));
}
