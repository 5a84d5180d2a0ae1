import { useState } from 'preact/hooks';
import { copyText, selectionWithin } from '../lib/clipboard';
import { shortId } from '../lib/format';

/**
 * The distinguishing tail of an id. Hovering shows the whole id, and copying a selection made inside it
 * copies the whole id rather than the shortened text.
 */
export function ShortId({ id }: { id: string | null | undefined }) {
  if (!id) return <>—</>;
  return (
    <span
      class="short-id"
      title={id}
      onCopy={(e) => {
        if (!e.clipboardData || !selectionWithin(e.currentTarget)) return;
        e.clipboardData.setData('text/plain', id);
        e.preventDefault();
      }}
    >
      {shortId(id)}
    </span>
  );
}

/** A small button that copies a whole id (without triggering the row or chip it sits in). */
export function CopyId({ id, what }: { id: string; what: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <button
      type="button"
      class={`copy-id ${state}`}
      title={`Copy ${what} ${id}`}
      aria-label={`Copy ${what}`}
      data-copy={id}
      onClick={(e) => {
        e.stopPropagation();
        copyText(id).then(
          () => setState('copied'),
          () => setState('failed'),
        );
      }}
    >
      {state === 'copied' ? '✓' : state === 'failed' ? '!' : <CopyIcon />}
    </button>
  );
}

/** Two overlapping sheets, drawn rather than taken from a font that may lack the glyph. */
function CopyIcon() {
  return (
    <svg width="11" height="11" viewBox="0 0 16 16" aria-hidden="true" fill="none" stroke="currentColor">
      <rect x="5.5" y="5.5" width="9" height="9" rx="1.5" stroke-width="1.6" />
      <path
        d="M10.5 3V2.5A1.5 1.5 0 0 0 9 1H2.5A1.5 1.5 0 0 0 1 2.5V9a1.5 1.5 0 0 0 1.5 1.5H3"
        stroke-width="1.6"
      />
    </svg>
  );
}
