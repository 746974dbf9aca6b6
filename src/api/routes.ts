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

/** The server HTTP API (docs/api.md). Everything here needs an API key unless api.insecure is set. */
export function registerApiRoutes(node: SwitchboardNode): void {
  installErrorHandling(node.app, node.metrics.stats, node.log);
  node.app.register(async (api) => {
    api.addHook('onRequest', apiKeyCheck(node.config.api));
    registerPublishRoutes(api, node);
    registerChannelRoutes(api, node);
    registerSessionRoutes(api, node);
    registerNodeRoutes(api, node);
    registerRevocationRoutes(api, node);
    if (node.gateway) registerServiceRoutes(api, node.gateway);
    registerRoutingRoutes(api, node);
  });
  // Topic routes take application keys as well as admin keys, so they check keys themselves.
  node.app.register(async (api) => registerTopicRoutes(api, node.topics, node.config.api));
  node.app.register(async (app) => registerOpenApiRoute(app, version, { gateway: Boolean(node.gateway), push: node.config.compat.push.enabled }));
}
