import { Badge, Message, formatRate } from './components.js';
import { useConsole, useLoad } from './context.js';
import { html, type Markup } from './html.js';

interface InstanceRow {
  id: string;
  url?: string;
  address?: string;
  healthy: boolean;
  ejected?: boolean;
}

interface ServiceRow {
  name: string;
  instances: InstanceRow[];
}

interface GatewayRouteRow {
  name?: string;
  path: string;
  service: string;
  requestsPerSecond?: number;
  errorsPerSecond?: number;
}

interface GatewayAnswer {
  enabled?: boolean;
  services: ServiceRow[];
  routes: GatewayRouteRow[];
}

function instanceState(instance: InstanceRow): Markup {
  if (instance.ejected) return html`<${Badge} tone="bad" text="ejected" />`;
  return html`<${Badge} tone=${instance.healthy ? 'ok' : 'bad'} text=${instance.healthy ? 'healthy' : 'unhealthy'} />`;
}

export function GatewayPage(): Markup {
  const { api } = useConsole();
  const answer = useLoad(() => api.get<GatewayAnswer>('/api/admin/gateway'), []);
  const data = answer.data;
  return html`
    <${Message} kind="error" text=${answer.error} />
    ${data?.enabled === false ? html`<p class="muted">The service gateway is off on this node (gateway.enabled, docs/gateway.md).</p>` : null}
    <section class="cards" aria-label="services">
      ${(data?.services ?? []).map(
        (service) => html`<article class="card" key=${service.name} data-service=${service.name}>
          <h3>${service.name}</h3>
          <table>
            <thead><tr><th>Instance</th><th>State</th></tr></thead>
            <tbody>${service.instances.map((i) => html`<tr data-instance=${i.id}><td><code>${i.url ?? i.address ?? i.id}</code></td><td class="instance-state">${instanceState(i)}</td></tr>`)}</tbody>
          </table>
        </article>`,
      )}
    </section>
    <section class="panel">
      <table id="gateway-routes">
        <caption class="muted">Proxy routes</caption>
        <thead><tr><th>Path</th><th>Service</th><th class="num">Requests</th><th class="num">Errors</th></tr></thead>
        <tbody>
          ${(data?.routes ?? []).map(
            (r) => html`<tr key=${r.path} data-gateway-route=${r.name ?? r.path}>
              <td><code>${r.path}</code></td><td>${r.service}</td>
              <td class="num">${formatRate(r.requestsPerSecond)}</td><td class="num">${formatRate(r.errorsPerSecond)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>`;
}
