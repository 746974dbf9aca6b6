import { html, type Markup } from './html.js';

/** An error or outcome message, announced to screen readers. */
export function Message({ kind, text }: { kind: 'error' | 'ok' | 'info'; text: string | undefined }): Markup | null {
  if (!text) return null;
  return html`<p class=${`message ${kind}`} role=${kind === 'error' ? 'alert' : 'status'}>${text}</p>`;
}

export function Outcome({ outcome }: { outcome: { ok: boolean; text: string } | undefined }): Markup | null {
  return outcome ? html`<${Message} kind=${outcome.ok ? 'ok' : 'error'} text=${outcome.text} />` : null;
}

export function Facts({ items }: { items: [string, unknown][] }): Markup {
  return html`<dl class="facts">
    ${items.map(
      ([term, value]) =>
        html`<dt>${term}</dt>
          <dd>${value ?? '–'}</dd>`,
    )}
  </dl>`;
}

export function Json({ value }: { value: unknown }): Markup {
  return html`<pre>${JSON.stringify(value, null, 2)}</pre>`;
}

/**
 * Pages through a list the API pages by `limit` and `after`: the cursors of the pages before the
 * current one are kept so that Previous goes back.
 */
export function Pager({
  shown,
  total,
  next,
  cursors,
  onPage,
}: {
  shown: number;
  total: number | undefined;
  next: string | undefined;
  cursors: string[];
  onPage: (cursors: string[]) => void;
}): Markup {
  const page = cursors.length + 1;
  return html`<nav class="pager" aria-label="pages">
    <button type="button" disabled=${cursors.length === 0} onClick=${() => onPage(cursors.slice(0, -1))}>Previous</button>
    <span>Page ${page}${total !== undefined ? html`, ${shown} shown of ${total}` : ''}</span>
    <button type="button" disabled=${!next} onClick=${() => next && onPage([...cursors, next])}>Next</button>
  </nav>`;
}

export function Badge({ tone, text }: { tone: 'ok' | 'bad' | 'warn' | ''; text: string }): Markup {
  return html`<span class=${`badge ${tone}`}>${text}</span>`;
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined) return '–';
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

export function formatRate(perSecond: number | undefined): string {
  return perSecond === undefined ? '–' : `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond)}/s`;
}
