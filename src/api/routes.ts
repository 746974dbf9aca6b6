import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AdminConsole } from '../admin/console.js';
import type { Config } from '../config/schema.js';
import type { Gateway } from '../gateway/gateway.js';
import type { TopicService } from '../topics/service.js';
import { apiKeyCheck } from '../auth/api-keys.js';
import { channelRoutes, type ChannelDeps } from './channel-routes.js';
import { installErrorHandling } from '../http/errors.js';
import { nodeRoutes, type NodeInfoDeps } from './node-routes.js';
import { openApiRoute } from './openapi.js';
import { publishRoutes, type PublishDeps } from './publish-routes.js';
import { revocationRoutes, type RevocationDeps } from './revocation-routes.js';
import { routingRoutes, type RoutingDeps } from './routing-routes.js';
import { sessionRoutes, type SessionRouteDeps } from './session-routes.js';
import { serviceRoutes } from '../gateway/service-routes.js';
import { topicRoutes } from './topic-routes.js';
import { version } from '../observability/version.js';
import type { NodeStats } from '../admin/console.js';
import { consoleApiAccess, consoleRoutes } from '../admin/routes.js';

/** What the server HTTP API needs: each route group's parts, and the console, gateway and topics when configured. */
export type ApiDeps = PublishDeps &
  ChannelDeps &
  SessionRouteDeps &
  NodeInfoDeps &
  RevocationDeps &
  RoutingDeps & {
    app: FastifyInstance;
    log: Logger;
    config: Config;
    console: AdminConsole | undefined;
    gateway: Gateway | undefined;
    topics: TopicService;
  };

/** The server HTTP API (docs/api.md). Everything here needs an API key unless api.insecure is set. */
export function registerApiRoutes(deps: ApiDeps): void {
  installErrorHandling(deps.app, deps.metrics.stats, deps.log);
  const { console } = deps;
  // With admin.enabled, read-only keys and console JWTs are admitted too (src/admin/routes.ts).
  const consoleAccess = console && consoleApiAccess(console.credentials);
  deps.app.register(async (api) => {
    api.addHook('onRequest', apiKeyCheck(deps.config.api, consoleAccess));
    api.register(publishRoutes, deps);
    api.register(channelRoutes, deps);
    api.register(sessionRoutes, deps);
    api.register(nodeRoutes, deps);
    api.register(revocationRoutes, deps);
    if (deps.gateway) api.register(serviceRoutes, { gateway: deps.gateway });
    api.register(routingRoutes, deps);
    if (console) {
      api.register(consoleRoutes, {
        credentials: console.credentials,
        insecure: deps.config.api.insecure,
        historyMinutes: deps.config.admin.historyMinutes,
        // Nodes without the console answer null; older nodes know no such query.
        nodeStats: async (minutes) =>
          [...(await deps.cluster.query({ what: 'node-stats', minutes })).values()].filter((a): a is NodeStats => Array.isArray((a as NodeStats | null)?.samples)),
        topics: () => console.topicsOverview(),
        gateway: console.gatewayOverview,
      });
    }
  });
  // Topic routes take application keys as well as admin keys, so they check keys themselves.
  deps.app.register(topicRoutes, { topics: deps.topics, apiConfig: deps.config.api, consoleAccess });
  deps.app.register(openApiRoute, { version, features: { gateway: Boolean(deps.gateway), push: deps.config.compat.push.enabled, admin: deps.config.admin.enabled } });
}
