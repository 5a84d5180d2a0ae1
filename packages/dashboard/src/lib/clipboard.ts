/**
 * Copies text to the clipboard. The Clipboard API exists only in secure contexts (HTTPS, localhost), so a
 * dashboard served over plain HTTP on another host falls back to copying from a hidden text area.
 */
export async function copyText(text: string): Promise<void> {
  if (window.isSecureContext && navigator.clipboard) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  try {
    if (!document.execCommand('copy')) throw new Error('copy refused');
  } finally {
    area.remove();
  }
}

/** True when the document's selection lies entirely inside `el`. */
export function selectionWithin(el: Element): boolean {
  const sel = document.getSelection();
  return Boolean(
    sel?.anchorNode && sel.focusNode && el.contains(sel.anchorNode) && el.contains(sel.focusNode),
  );
}
