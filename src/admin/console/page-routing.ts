import { useState } from 'preact/hooks';
import { Badge, Json, Message, Outcome } from './components.js';
import { useAction, useConsole, useLoad } from './context.js';
import { html, type Markup } from './html.js';

interface RouteRow {
  name: string;
  match: string;
  target: string;
  durable: boolean;
  /** Durable routes: messages waiting for delivery and dead letters retained. */
  queue?: { depth: number; deadLetters: number };
}

interface BackendRow {
  name: string;
  breaker: 'closed' | 'open' | 'half_open';
  health: 'healthy' | 'recovering' | 'failing';
}

interface RouteDeadLetter {
  id: string;
  attempts: number;
  deadAt: number;
  backend: string;
  message: { data: unknown; user?: string; session?: string };
}

const breakerTone = { closed: 'ok', half_open: 'warn', open: 'bad' } as const;
const healthTone = { healthy: 'ok', recovering: 'warn', failing: 'bad' } as const;

function RouteDeadLetters({ route }: { route: string }): Markup {
  const { api } = useConsole();
  const path = `/api/routes/${encodeURIComponent(route)}/dead-letters`;
  const letters = useLoad(() => api.get<{ deadLetters: RouteDeadLetter[] }>(path, { limit: 100 }), [route]);
  const action = useAction();
  const replay = (ids?: string[]) =>
    action.run(async () => {
      const answer = await api.post<{ replayed: number; duplicates: number }>(`${path}/replay`, ids ? { ids } : {});
      letters.reload();
      return `Replayed ${answer.replayed} dead letter(s) of ${route} (${answer.duplicates} already replayed).`;
    });
  const list = letters.data?.deadLetters ?? [];
  return html`<section class="panel" id="route-dead-letters" aria-label=${`dead letters of ${route}`}>
    <h3>Dead letters of route ${route}</h3>
    <${Message} kind="error" text=${letters.error} />
    <div class="toolbar"><button type="button" disabled=${action.busy || list.length === 0} onClick=${() => replay()}>Replay all</button></div>
    <${Outcome} outcome=${action.outcome} />
    <table>
      <thead>
        <tr>
          <th>Dead since</th>
          <th>Backend</th>
          <th class="num">Attempts</th>
          <th>User</th>
          <th>Data</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        ${list.map(
          (d) =>
            html`<tr key=${d.id}>
              <td>${new Date(d.deadAt).toLocaleString()}</td>
              <td>${d.backend}</td>
              <td class="num">${d.attempts}</td>
              <td>${d.message.user ?? ''}</td>
              <td><${Json} value=${d.message.data} /></td>
              <td><button type="button" disabled=${action.busy} onClick=${() => replay([d.id])}>Replay</button></td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${list.length === 0 && letters.data ? html`<p class="muted">No dead letters.</p>` : null}
  </section>`;
}

export function RoutingPage(): Markup {
  const { api } = useConsole();
  const answer = useLoad(() => api.get<{ node: string; routes: RouteRow[]; backends: BackendRow[] }>('/api/routes'), []);
  const [open, setOpen] = useState<string | undefined>(undefined);
  const routes = answer.data?.routes ?? [];
  const backends = answer.data?.backends ?? [];
  return html` <${Message} kind="error" text=${answer.error} />
    <section class="panel">
      <table id="routes">
        <caption class="muted">
          Client message routes, in the order they are matched${answer.data ? ` (node ${answer.data.node})` : ''}
        </caption>
        <thead>
          <tr>
            <th>Route</th>
            <th>Match</th>
            <th>Target</th>
            <th>Durable</th>
            <th class="num">Queue</th>
            <th class="num">Dead letters</th>
          </tr>
        </thead>
        <tbody>
          ${routes.map(
            (r) =>
              html`<tr key=${r.name} data-route=${r.name}>
                <td>${r.name}</td>
                <td><code>${r.match}</code></td>
                <td>${r.target}</td>
                <td>${r.durable ? 'yes' : 'no'}</td>
                <td class="num">${r.queue?.depth ?? ''}</td>
                <td class="num">
                  ${r.durable ? html`<button type="button" onClick=${() => setOpen(r.name)} aria-label=${`dead letters of ${r.name}`}>${r.queue?.deadLetters ?? 'Show'}</button>` : ''}
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${routes.length === 0 && answer.data ? html`<p class="muted">No routes are configured (docs/routing.md).</p>` : null}
    </section>
    <section class="panel">
      <table id="backends">
        <caption class="muted">
          Backends
        </caption>
        <thead>
          <tr>
            <th>Backend</th>
            <th>Health</th>
            <th>Circuit breaker</th>
          </tr>
        </thead>
        <tbody>
          ${backends.map(
            (b) =>
              html`<tr key=${b.name} data-backend=${b.name}>
                <td>${b.name}</td>
                <td><${Badge} tone=${healthTone[b.health]} text=${b.health} /></td>
                <td><${Badge} tone=${breakerTone[b.breaker]} text=${b.breaker.replace('_', '-')} /></td>
              </tr>`,
          )}
        </tbody>
      </table>
    </section>
    ${open ? html`<${RouteDeadLetters} key=${open} route=${open} />` : null}`;
}
