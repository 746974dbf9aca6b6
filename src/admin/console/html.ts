import { html } from 'htm/preact';

/** Preact's h as tagged templates (htm): components without JSX, so the page needs no bundler. */
export { html };

export type Markup = ReturnType<typeof html>;
