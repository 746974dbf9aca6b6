import { loadConsolePage } from './admin/page-assets.js';
import { consolePageRoutes } from './admin/page-routes.js';
import { registerApiRoutes, type ApiDeps } from './api/routes.js';
import { demoRoutes } from './demo/routes.js';
import { opsRoutes, type OpsDeps } from './api/ops-routes.js';
import { registerBrowserAccess } from './transports/browser-access.js';
import type { registerGraphql } from './transports/graphql.js';
import { registerClientRoutes, type ClientRouteDeps } from './transports/routes.js';

/** What every route group of a node needs, all on one object. */
export type NodeRouteDeps = OpsDeps & ApiDeps & ClientRouteDeps;

/** Mounts the node's routes on deps.app: ops, the HTTP API, the client transports, the gateway, the demo and the console page. */
export function mountRoutes(deps: NodeRouteDeps, graphqlEndpoint: typeof registerGraphql | undefined): void {
  const { app, config } = deps;
  const origins = registerBrowserAccess(app, config);
  app.register(opsRoutes, deps);
  registerApiRoutes(deps);
  registerClientRoutes(deps, origins, graphqlEndpoint);
  deps.gateway?.mount(app);
  if (config.demo.enabled) app.register(demoRoutes);
  if (config.admin.enabled) app.register(consolePageRoutes, { page: loadConsolePage() });
}
