import type { GatewayOverview } from '../gateway-overview.js';
import { ConsoleApiError } from './api.js';
import { Badge, Message, formatRate } from './components.js';
import { useConsole, useLoad } from './context.js';
import { html, type Markup } from './html.js';

type GatewayAnswer = GatewayOverview;
type ServiceRow = GatewayOverview['services'][number];

const stateTone = { healthy: 'ok', ejected: 'bad', unhealthy: 'bad', unknown: '' } as const;

/** The gateway's overview, or the fact that this node runs no gateway (404). */
async function gatewayOrOff(load: Promise<GatewayAnswer>): Promise<GatewayAnswer | 'off'> {
  return load.catch((err: Error) => (err instanceof ConsoleApiError && err.status === 404 ? 'off' : Promise.reject(err)));
}

function ServiceCard({ service }: { service: ServiceRow }): Markup {
  return html`<article class="card" data-service=${service.name}>
    <h3>${service.name} ${service.down ? html`<${Badge} tone="bad" text=${`down until ${new Date(service.down.until).toLocaleTimeString()}`} />` : null}</h3>
    <table>
      <thead>
        <tr>
          <th>Instance</th>
          <th>State</th>
          <th class="num">In flight</th>
        </tr>
      </thead>
      <tbody>
        ${service.instances.map(
          (i) =>
            html`<tr data-instance=${i.id}>
              <td><code>${i.url}</code></td>
              <td>
                <span class="instance-state"><${Badge} tone=${stateTone[i.state]} text=${i.state} /></span>${i.reason ? html`<div class="muted">${i.reason}</div>` : null}
              </td>
              <td class="num">${i.outstanding}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </article>`;
}

export function GatewayPage(): Markup {
  const { api } = useConsole();
  const answer = useLoad(() => gatewayOrOff(api.get<GatewayAnswer>('/api/admin/gateway')), []);
  const data = answer.data;
  if (data === 'off') return html`<p class="muted">The service gateway is off on this node (gateway.enabled, docs/gateway.md).</p>`;
  return html` <${Message} kind="error" text=${answer.error} />
    <section class="cards wide" aria-label="services">${(data?.services ?? []).map((service) => html`<${ServiceCard} key=${service.name} service=${service} />`)}</section>
    <section class="panel">
      <table id="gateway-routes">
        <caption class="muted">
          Proxy routes, with rates over the last minute on this node
        </caption>
        <thead>
          <tr>
            <th>Route</th>
            <th>Match</th>
            <th>Service</th>
            <th class="num">Requests</th>
            <th class="num">Errors</th>
          </tr>
        </thead>
        <tbody>
          ${(data?.routes ?? []).map(
            (r) =>
              html`<tr key=${r.name} data-gateway-route=${r.name}>
                <td>${r.name}</td>
                <td><code>${r.methods.length ? `${r.methods.join(',')} ` : ''}${r.host}${r.path}</code></td>
                <td>${r.service}</td>
                <td class="num">${formatRate(r.requestsPerSecond)}</td>
                <td class="num">${formatRate(r.errorsPerSecond)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </section>`;
}
