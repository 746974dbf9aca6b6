import type { SubscriptionOverview } from '../topics-overview.js';
import { useState } from 'preact/hooks';
import { Badge, Message, Outcome, formatDuration, formatRate } from './components.js';
import { useAction, useConsole, useLoad } from './context.js';
import { html, type Markup } from './html.js';

/** A subscription reading a topic, of any application (GET /api/admin/topics). */
type SubscriptionRow = SubscriptionOverview;

interface TopicRow {
  name: string;
  messages: number;
  subscriptions: SubscriptionRow[];
}

interface ApplicationRow {
  id: string;
  topics: TopicRow[];
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
      const answer = await api.post<{ replayed: number; duplicates: number }>(`${subscriptionPath(app, sub)}/dead-letters/replay`, ids ? { ids } : {});
      setChosen(new Set());
      letters.reload();
      const duplicates = answer.duplicates > 0 ? ` (${answer.duplicates} replayed before, not sent again)` : '';
      return `Replayed ${answer.replayed} dead letter(s) onto the topic ${sub} reads${duplicates}.`;
    });
  const messages = letters.data?.messages ?? [];
  const toggle = (id: string) => {
    const next = new Set(chosen);
    if (!next.delete(id)) next.add(id);
    setChosen(next);
  };
  return html`<div id="dead-letters">
    <h4>Dead letters</h4>
    <${Message} kind="error" text=${letters.error} />
    <div class="toolbar">
      <button type="button" id="replay-selected" disabled=${action.busy || chosen.size === 0} onClick=${() => replay([...chosen])}>Replay selected (${chosen.size})</button>
      <button type="button" id="replay-all" disabled=${action.busy || messages.length === 0} onClick=${() => replay(undefined)}>Replay all</button>
    </div>
    <${Outcome} outcome=${action.outcome} />
    <table>
      <thead>
        <tr>
          <th>Replay</th>
          <th>Message</th>
          <th>Attributes</th>
          <th>Data</th>
        </tr>
      </thead>
      <tbody>
        ${messages.map(
          (m) =>
            html`<tr key=${m.id} data-dead-letter=${m.id}>
              <td>
                <label class="check"><input type="checkbox" checked=${chosen.has(m.id)} onChange=${() => toggle(m.id)} aria-label=${`replay ${m.id}`} /></label>
              </td>
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
    <label
      >Seek to a time (e.g. 2026-12-04T08:00) or a position
      <input id="seek-target" value=${target} onInput=${(e: Event) => setTarget((e.target as HTMLInputElement).value)} />
    </label>
    <button type="submit" id="seek" disabled=${action.busy}>Seek</button>
    <${Outcome} outcome=${action.outcome} />
  </form>`;
}

function SubscriptionRows({
  topic,
  selected,
  onOpen,
}: {
  topic: TopicRow;
  selected: { app: string; sub: string } | undefined;
  onOpen: (app: string, sub: string) => void;
}): Markup[] {
  return topic.subscriptions.map(
    (s) =>
      html`<tr key=${`${s.application}/${s.name}`} data-subscription=${`${s.application}/${s.name}`} aria-selected=${selected?.app === s.application && selected.sub === s.name}>
        <td>${topic.name}</td>
        <td>${s.application}/${s.name}</td>
        <td class="num">${s.backlog}</td>
        <td class="num">${s.backlog === 0 ? '–' : formatDuration(s.oldestUnackedAgeMs / 1000)}</td>
        <td class="num">${formatRate(s.ackedPerSecond)}</td>
        <td class="num">
          ${s.deadLetterTopic ? html`<${Badge} tone=${s.deadLetters > 0 ? 'bad' : ''} text=${String(s.deadLetters)} />` : html`<span class="muted">none kept</span>`}
        </td>
        <td><button type="button" onClick=${() => onOpen(s.application, s.name)} aria-label=${`dead letters and seek of ${s.application}/${s.name}`}>Open</button></td>
      </tr>`,
  );
}

export function TopicsPage(): Markup {
  const { api } = useConsole();
  const answer = useLoad(() => api.get<{ applications: ApplicationRow[] }>('/api/admin/topics'), []);
  const [selected, setSelected] = useState<{ app: string; sub: string } | undefined>(undefined);
  const applications = answer.data?.applications ?? [];
  const open = (app: string, sub: string) => setSelected({ app, sub });
  return html` <${Message} kind="error" text=${answer.error} />
    ${answer.data && applications.length === 0 ? html`<p class="muted">No application has topics yet (docs/topics.md).</p>` : null}
    ${applications.map(
      (app) =>
        html`<section class="panel" key=${app.id} data-application=${app.id}>
          <h3>Application ${app.id}</h3>
          <table>
            <caption class="muted">
              Topics
            </caption>
            <thead>
              <tr>
                <th>Topic</th>
                <th class="num">Messages kept</th>
                <th class="num">Subscriptions</th>
              </tr>
            </thead>
            <tbody>
              ${app.topics.map(
                (t) =>
                  html`<tr data-topic=${t.name}>
                    <td>${t.name}</td>
                    <td class="num">${t.messages}</td>
                    <td class="num">${t.subscriptions.length}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
          <table>
            <caption class="muted">
              Subscriptions on its topics
            </caption>
            <thead>
              <tr>
                <th>Topic</th>
                <th>Subscription</th>
                <th class="num">Backlog</th>
                <th class="num">Oldest unacked</th>
                <th class="num">Delivery rate</th>
                <th class="num">Dead letters</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              ${app.topics.flatMap((topic) => SubscriptionRows({ topic, selected, onOpen: open }))}
            </tbody>
          </table>
        </section>`,
    )}
    ${
      selected
        ? html`<section class="panel" key=${`${selected.app}/${selected.sub}`} aria-label=${`subscription ${selected.app}/${selected.sub}`}>
            <h3>Subscription ${selected.app}/${selected.sub}</h3>
            <${Seek} app=${selected.app} sub=${selected.sub} />
            <${DeadLetters} app=${selected.app} sub=${selected.sub} />
          </section>`
        : null
    }`;
}
