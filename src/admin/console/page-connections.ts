import { useState } from 'preact/hooks';
import { Facts, Json, Message, Outcome, Pager, formatBytes } from './components.js';
import { useAction, useConsole, useFollow, useLoad } from './context.js';
import { html, type Markup } from './html.js';

interface SessionRow {
  id: string;
  user: string;
  node: string;
  transport: string;
  remote: string;
  connectedAt: string;
  channels: string[];
  context: Record<string, unknown>;
  messagesSent: number;
  bytesSent: number;
  messagesReceived: number;
  bytesReceived: number;
}

interface SessionPage {
  sessions: SessionRow[];
  total?: number;
  next?: string;
}

const filters = [
  ['user', 'User'],
  ['channel', 'Channel'],
  ['node', 'Node'],
  ['transport', 'Transport'],
] as const;
type Filter = Record<(typeof filters)[number][0], string>;

const pageSize = 50;

/** Close codes an operator picks from (docs/protocol.md#close-codes). */
const closeCodes: [number, string][] = [
  [4000, '4000: reconnect (clients come back)'],
  [4500, '4500: do not reconnect'],
];

function SessionDetails({ id, onGone }: { id: string; onGone: () => void }): Markup {
  const { api } = useConsole();
  const session = useLoad(() => api.get<SessionRow>(`/api/sessions/${encodeURIComponent(id)}`), [id]);
  const [code, setCode] = useState(4000);
  const [reason, setReason] = useState('disconnected by an operator');
  const action = useAction();
  const s = session.data;
  const disconnect = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const answer = await api.post<{ code?: number }>(`/api/sessions/${encodeURIComponent(id)}/disconnect`, { code, reason });
      onGone();
      return `Session ${id} was disconnected with close code ${answer.code ?? 4000}.`;
    });
  };
  const revoke = () =>
    action.run(async () => {
      const user = s!.user;
      await api.post('/api/revocations', { user, expiresIn: 86_400 });
      return `User "${user}" was revoked for a day: their tokens issued until now are refused on every node, and their sessions closed.`;
    });
  return html`<section class="panel" aria-label="session details" id="session-details">
    <h3>Session <code>${id}</code></h3>
    <${Message} kind="error" text=${session.error} />
    ${
      s
        ? html`<${Facts}
              items=${[
                ['user', s.user === '' ? html`<span class="muted">anonymous</span>` : s.user],
                ['node', s.node],
                ['transport', s.transport],
                ['remote address', s.remote],
                ['connected since', new Date(s.connectedAt).toLocaleString()],
                ['received from it', `${formatBytes(s.bytesReceived)} in ${s.messagesReceived} frames`],
                ['sent to it', `${formatBytes(s.bytesSent)} in ${s.messagesSent} frames`],
                ['channels', s.channels.length ? s.channels.join(', ') : html`<span class="muted">none</span>`],
              ]}
            />
            <h4>Context</h4>
            <${Json} value=${s.context} />
            <form class="inline" onSubmit=${disconnect} aria-label="disconnect this session">
              <label
                >Close code
                <select id="close-code" value=${code} onChange=${(e: Event) => setCode(Number((e.target as HTMLSelectElement).value))}>
                  ${closeCodes.map(([value, text]) => html`<option value=${value}>${text}</option>`)}
                </select>
              </label>
              <label
                >Reason
                <input id="close-reason" maxlength="120" value=${reason} onInput=${(e: Event) => setReason((e.target as HTMLInputElement).value)} />
              </label>
              <button class="danger" type="submit" id="disconnect" disabled=${action.busy}>Disconnect</button>
              ${s.user !== '' ? html`<button class="danger" type="button" id="revoke-user" disabled=${action.busy} onClick=${revoke}>Revoke user ${s.user}</button>` : null}
            </form>`
        : null
    }
    <${Outcome} outcome=${action.outcome} />
  </section>`;
}

export function ConnectionsPage(): Markup {
  const { api } = useConsole();
  const [draft, setDraft] = useState<Filter>({ user: '', channel: '', node: '', transport: '' });
  const [filter, setFilter] = useState<Filter>(draft);
  const [cursors, setCursors] = useState<string[]>([]);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const list = useLoad(() => api.get<SessionPage>('/api/sessions', { ...filter, limit: pageSize, after: cursors.at(-1) }), [filter, cursors]);
  // Sessions come and go between stats ticks: a change seen on $admin:sessions reloads the page.
  useFollow('$admin:sessions', () => list.reload());
  const sessions = list.data?.sessions ?? [];
  return html` <form
      class="inline"
      aria-label="filter sessions"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        setCursors([]);
        setFilter(draft);
      }}
    >
      ${filters.map(
        ([key, label]) =>
          html`<label
            >${label}
            <input id=${`filter-${key}`} value=${draft[key]} onInput=${(e: Event) => setDraft({ ...draft, [key]: (e.target as HTMLInputElement).value })} />
          </label>`,
      )}
      <button class="primary" type="submit">Filter</button>
    </form>
    <${Message} kind="error" text=${list.error} />
    <section class="panel">
      <table id="sessions">
        <caption class="muted">
          Sessions on every node of the cluster
        </caption>
        <thead>
          <tr>
            <th>Session</th>
            <th>User</th>
            <th>Node</th>
            <th>Transport</th>
            <th>Connected</th>
            <th class="num">Channels</th>
          </tr>
        </thead>
        <tbody>
          ${sessions.map(
            (s) =>
              html`<tr key=${s.id} data-session=${s.id} data-node=${s.node} aria-selected=${s.id === selected}>
                <td>
                  <button type="button" class="link" onClick=${() => setSelected(s.id)} aria-label=${`details of session ${s.id}`}><code>${s.id.slice(0, 8)}</code></button>
                </td>
                <td>${s.user === '' ? html`<span class="muted">anonymous</span>` : s.user}</td>
                <td>${s.node}</td>
                <td>${s.transport}</td>
                <td>${new Date(s.connectedAt).toLocaleTimeString()}</td>
                <td class="num">${s.channels.length}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${sessions.length === 0 && list.data ? html`<p class="muted">No sessions match.</p>` : null}
      <${Pager} shown=${sessions.length} total=${list.data?.total} next=${list.data?.next} cursors=${cursors} onPage=${setCursors} />
    </section>
    ${selected ? html`<${SessionDetails} key=${selected} id=${selected} onGone=${() => list.reload()} />` : null}`;
}
