import { useState } from 'preact/hooks';
import { Badge, Message, Outcome, formatBytes, formatDuration, formatRate } from './components.js';
import { useAction, useConsole, useLoad } from './context.js';
import { html, type Markup } from './html.js';

interface SubscriptionRow {
  name: string;
  topic: string;
  backlog?: number;
  unacked?: number;
  oldestUnackedAgeMs?: number;
  deliveriesPerSecond?: number;
  deadLetterTopic?: string;
  push?: boolean;
}

interface TopicRow {
  name: string;
  messages?: number;
  bytes?: number;
  publishedPerSecond?: number;
}

interface ApplicationRow {
  id: string;
  topics: TopicRow[];
  subscriptions: SubscriptionRow[];
}

interface DeadLetter {
  id: string;
  position: string;
  data: unknown;
  attributes?: Record<string, string>;
  publishTime?: number | string;
}

function subscriptionPath(app: string, sub: string): string {
  return `/api/topics/${encodeURIComponent(app)}/subscriptions/${encodeURIComponent(sub)}`;
}

function DeadLetters({ app, sub }: { app: string; sub: string }): Markup {
  const { api } = useConsole();
  const letters = useLoad(() => api.get<{ messages: DeadLetter[] }>(`${subscriptionPath(app, sub)}/dead-letters`, { limit: 100 }), [app, sub]);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const action = useAction();
  const replay = (ids: string[] | undefined) =>
    action.run(async () => {
      const answer = await api.post<{ replayed: number }>(`${subscriptionPath(app, sub)}/dead-letters/replay`, ids ? { ids } : {});
      setChosen(new Set());
      letters.reload();
      return `Replayed ${answer.replayed} dead letter(s) to ${sub}.`;
    });
  const messages = letters.data?.messages ?? [];
  const toggle = (id: string) => {
    const next = new Set(chosen);
    if (!next.delete(id)) next.add(id);
    setChosen(next);
  };
  return html`<div id="dead-letters">
    <h4>Dead letters of ${app}/${sub}</h4>
    <${Message} kind="error" text=${letters.error} />
    <div class="toolbar">
      <button type="button" id="replay-selected" disabled=${action.busy || chosen.size === 0} onClick=${() => replay([...chosen])}>Replay selected (${chosen.size})</button>
      <button type="button" id="replay-all" disabled=${action.busy || messages.length === 0} onClick=${() => replay(undefined)}>Replay all</button>
    </div>
    <${Outcome} outcome=${action.outcome} />
    <table>
      <thead><tr><th>Replay</th><th>Message</th><th>Attributes</th><th>Data</th></tr></thead>
      <tbody>
        ${messages.map(
          (m) => html`<tr key=${m.id} data-dead-letter=${m.id}>
            <td><label class="check"><input type="checkbox" checked=${chosen.has(m.id)} onChange=${() => toggle(m.id)} aria-label=${`replay ${m.id}`} /></label></td>
            <td><code>${m.id.slice(0, 8)}</code><br /><span class="muted">${m.publishTime ? new Date(m.publishTime).toLocaleString() : ''}</span></td>
            <td>${Object.entries(m.attributes ?? {}).map(([k, v]) => html`<div><code>${k}</code>: ${v}</div>`)}</td>
            <td><code>${JSON.stringify(m.data)}</code></td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${messages.length === 0 && letters.data ? html`<p class="muted">No dead letters.</p>` : null}
  </div>`;
}

function Seek({ app, sub }: { app: string; sub: string }): Markup {
  const { api } = useConsole();
  const [target, setTarget] = useState('');
  const action = useAction();
  const seek = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const value = target.trim();
      const body = /^\d+-\d+$/.test(value) ? { position: value } : { time: value === '' ? new Date().toISOString() : new Date(value).toISOString() };
      await api.post(`${subscriptionPath(app, sub)}/seek`, body);
      return `${sub} now delivers from ${'position' in body ? `position ${body.position}` : body.time}.`;
    });
  };
  return html`<form class="inline" onSubmit=${seek} aria-label=${`seek ${sub}`}>
    <label>Seek to a time (e.g. 2026-12-04T08:00) or a position
      <input id="seek-target" value=${target} onInput=${(e: Event) => setTarget((e.target as HTMLInputElement).value)} />
    </label>
    <button type="submit" id="seek" disabled=${action.busy}>Seek</button>
    <${Outcome} outcome=${action.outcome} />
  </form>`;
}

export function TopicsPage(): Markup {
  const { api } = useConsole();
  const answer = useLoad(() => api.get<{ applications: ApplicationRow[] }>('/api/admin/topics'), []);
  const [selected, setSelected] = useState<{ app: string; sub: string } | undefined>(undefined);
  const applications = answer.data?.applications ?? [];
  return html`
    <${Message} kind="error" text=${answer.error} />
    ${answer.data && applications.length === 0 ? html`<p class="muted">No applications have topics yet (docs/topics.md).</p>` : null}
    ${applications.map(
      (app) => html`<section class="panel" key=${app.id} data-application=${app.id}>
        <h3>Application ${app.id}</h3>
        <table>
          <caption class="muted">Topics</caption>
          <thead><tr><th>Topic</th><th class="num">Messages</th><th class="num">Size</th><th class="num">Published</th></tr></thead>
          <tbody>${app.topics.map((t) => html`<tr data-topic=${t.name}><td>${t.name}</td><td class="num">${t.messages ?? '–'}</td><td class="num">${formatBytes(t.bytes)}</td><td class="num">${formatRate(t.publishedPerSecond)}</td></tr>`)}</tbody>
        </table>
        <table>
          <caption class="muted">Subscriptions</caption>
          <thead><tr><th>Subscription</th><th>Topic</th><th class="num">Backlog</th><th class="num">Unacked</th><th class="num">Oldest unacked</th><th class="num">Delivery rate</th><th>Dead letters</th></tr></thead>
          <tbody>
            ${app.subscriptions.map(
              (s) => html`<tr data-subscription=${s.name} aria-selected=${selected?.app === app.id && selected.sub === s.name}>
                <td>${s.name} ${s.push ? html`<${Badge} tone="" text="push" />` : null}</td>
                <td>${s.topic}</td>
                <td class="num">${s.backlog ?? '–'}</td>
                <td class="num">${s.unacked ?? '–'}</td>
                <td class="num">${s.oldestUnackedAgeMs === undefined ? '–' : formatDuration(s.oldestUnackedAgeMs / 1000)}</td>
                <td class="num">${formatRate(s.deliveriesPerSecond)}</td>
                <td><button type="button" onClick=${() => setSelected({ app: app.id, sub: s.name })} aria-label=${`dead letters and seek of ${s.name}`}>Open</button></td>
              </tr>`,
            )}
          </tbody>
        </table>
      </section>`,
    )}
    ${selected
      ? html`<section class="panel" key=${`${selected.app}/${selected.sub}`}>
          <${Seek} app=${selected.app} sub=${selected.sub} />
          <${DeadLetters} app=${selected.app} sub=${selected.sub} />
        </section>`
      : null}`;
}
