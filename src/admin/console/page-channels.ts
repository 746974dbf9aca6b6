import { useState } from 'preact/hooks';
import { ConsoleApiError } from './api.js';
import { Json, Message, Outcome, Pager } from './components.js';
import { useAction, useConsole, useFollow, useLoad } from './context.js';
import { html, type Markup } from './html.js';

interface ChannelPage {
  channels: { channel: string; subscribers: number }[];
  total?: number;
  next?: string;
}

interface Presence {
  members: { session: string; user: string; node: string }[];
}

interface History {
  publications: { data: unknown; offset?: number; time?: string }[];
}

const pageSize = 50;
const historyShown = 10;

/** Presence and history answer 404 on namespaces without them: that is a fact to show, not an error. */
function optional<T>(load: Promise<T>): Promise<T | string> {
  return load.catch((err: Error) => (err instanceof ConsoleApiError && err.status === 404 ? 'not enabled for this channel' : Promise.reject(err)));
}

function FollowLive({ channel }: { channel: string }): Markup {
  const [following, setFollowing] = useState(false);
  const [received, setReceived] = useState<{ at: string; data: unknown }[]>([]);
  useFollow(following ? channel : undefined, (data) => setReceived((list) => [{ at: new Date().toLocaleTimeString(), data }, ...list].slice(0, 100)));
  return html`<div>
    <button type="button" id="follow" aria-pressed=${following} onClick=${() => setFollowing(!following)}>${following ? 'Stop following' : 'Follow live'}</button>
    ${following ? html`<span class="muted" role="status"> following ${channel}</span>` : null}
    <ol class="feed" id="live-messages" aria-live="polite">
      ${received.map((m) => html`<li><span class="muted">${m.at}</span> <code>${JSON.stringify(m.data)}</code></li>`)}
    </ol>
  </div>`;
}

function PublishForm({ channel }: { channel: string }): Markup {
  const { api } = useConsole();
  const [text, setText] = useState('{"text": "hello from the console"}');
  const action = useAction();
  const publish = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        throw new Error('The data is not valid JSON (a string needs quotes).');
      }
      const answer = await api.post<{ subscribers: number }>('/api/publish', { channel, data });
      return `Published to ${channel}; ${answer.subscribers} subscriber(s) on this node.`;
    });
  };
  return html`<form onSubmit=${publish} aria-label=${`publish to ${channel}`}>
    <label
      >Data (JSON)
      <textarea id="publish-data" value=${text} onInput=${(e: Event) => setText((e.target as HTMLTextAreaElement).value)}></textarea>
    </label>
    <p><button class="primary" type="submit" id="publish" disabled=${action.busy}>Publish</button></p>
    <${Outcome} outcome=${action.outcome} />
  </form>`;
}

function ChannelDetails({ channel }: { channel: string }): Markup {
  const { api } = useConsole();
  const path = `/api/channels/${encodeURIComponent(channel)}`;
  const presence = useLoad(() => optional(api.get<Presence>(`${path}/presence`)), [channel]);
  const history = useLoad(() => optional(api.get<History>(`${path}/history`, { limit: historyShown, reverse: 'true' })), [channel]);
  return html`<section class="panel" id="channel-details" aria-label=${`channel ${channel}`}>
    <h3>Channel <code>${channel}</code></h3>
    <${Message} kind="error" text=${presence.error ?? history.error} />
    <h4>Presence</h4>
    ${
      typeof presence.data === 'string'
        ? html`<p class="muted">${presence.data}</p>`
        : html`<ul id="presence">
            ${(presence.data?.members ?? []).map((m) => html`<li>${m.user || 'anonymous'} <span class="muted">(${m.session.slice(0, 8)} on ${m.node})</span></li>`)}
          </ul>`
    }
    <h4>Last messages</h4>
    ${
      typeof history.data === 'string'
        ? html`<p class="muted">History is ${history.data}.</p>`
        : html`<ol class="feed" id="history">
            ${(history.data?.publications ?? []).map((p) => html`<li><span class="muted">${p.time ? new Date(p.time).toLocaleTimeString() : ''} #${p.offset}</span> <${Json} value=${p.data} /></li>`)}
          </ol>`
    }
    <h4>Publish</h4>
    <${PublishForm} channel=${channel} />
    <h4>Live</h4>
    <${FollowLive} channel=${channel} />
  </section>`;
}

export function ChannelsPage(): Markup {
  const { api } = useConsole();
  const [prefix, setPrefix] = useState('');
  const [draft, setDraft] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const list = useLoad(() => api.get<ChannelPage>('/api/channels', { prefix, limit: pageSize, after: cursors.at(-1) }), [prefix, cursors]);
  const channels = list.data?.channels ?? [];
  return html` <form
      class="inline"
      aria-label="find channels"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        setCursors([]);
        setPrefix(draft);
      }}
    >
      <label>Name starts with <input id="channel-prefix" value=${draft} onInput=${(e: Event) => setDraft((e.target as HTMLInputElement).value)} /></label>
      <button class="primary" type="submit">Find</button>
      <label
        >Open a channel by name
        <input
          id="channel-name"
          placeholder="news"
          onKeyDown=${(e: KeyboardEvent) => {
            if (e.key !== 'Enter') return;
            e.preventDefault();
            const name = (e.target as HTMLInputElement).value.trim();
            if (name) setSelected(name);
          }}
        />
      </label>
    </form>
    <${Message} kind="error" text=${list.error} />
    <section class="panel">
      <table id="channels">
        <caption class="muted">
          Channels with subscribers on any node
        </caption>
        <thead>
          <tr>
            <th>Channel</th>
            <th class="num">Subscribers</th>
          </tr>
        </thead>
        <tbody>
          ${channels.map(
            (c) =>
              html`<tr key=${c.channel} data-channel=${c.channel} aria-selected=${c.channel === selected}>
                <td><button type="button" class="link" onClick=${() => setSelected(c.channel)}>${c.channel}</button></td>
                <td class="num">${c.subscribers}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${channels.length === 0 && list.data ? html`<p class="muted">No channel has subscribers.</p>` : null}
      <${Pager} shown=${channels.length} total=${list.data?.total} next=${list.data?.next} cursors=${cursors} onPage=${setCursors} />
    </section>
    ${selected ? html`<${ChannelDetails} key=${selected} channel=${selected} />` : null}`;
}
