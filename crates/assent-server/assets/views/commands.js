// The slash-command palette of the chat composer. The agent declares its commands
// (`agent.commands`: `[{command, description?, acceptsArgs?, argHint?}]`, set with
// PUT /api/v1/agents/{id}/commands or relayed live with the Socket.IO `agent:commands`).
// Typing "/" at the start of the message lists them: ↑ ↓ move, Tab completes, Enter picks
// (a command without arguments is sent at once), Esc closes. The textarea keeps the focus
// and points at the active option with aria-activedescendant (listbox / option roles).

import { h } from '../lib/dom.js';

let paletteCounter = 0;

/** Cleans an agent's `commands` value into `[{name, description, acceptsArgs, argHint}]`. */
export function normalizeCommands(raw) {
  if (!Array.isArray(raw)) return [];
  const seen = new Set();
  const out = [];
  for (const c of raw) {
    if (!c || typeof c !== 'object') continue;
    const name = String(c.command ?? c.name ?? '').trim().replace(/^\/+/, '');
    if (!name || /\s/.test(name) || seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    out.push({
      name,
      description: typeof c.description === 'string' ? c.description : '',
      acceptsArgs: c.acceptsArgs === true || (c.acceptsArgs === undefined && typeof c.argHint === 'string' && c.argHint !== ''),
      argHint: typeof c.argHint === 'string' ? c.argHint : '',
    });
  }
  return out;
}

/**
 * Attaches a palette to the composer's `input`. `send()` sends the composer's current text;
 * `refresh()` re-reads the agent's commands (called when the palette is about to open).
 * Returns `{el, setCommands(list), onKeydown(event) → handled?, update(), hint()}`.
 */
export function commandPalette(input, { send, refresh }) {
  const id = `cmd-palette-${++paletteCounter}`;
  let commands = [];
  let matches = [];
  let active = 0;
  let open = false;
  let lastQuery = null;
  let dismissed = null; // the input value on which Esc closed the palette
  let lastRefresh = 0;

  const list = h('ul.palette', { id, role: 'listbox', 'aria-label': 'Commands', hidden: true, 'data-testid': 'command-palette' });
  const status = h('div.sr-only', { role: 'status', 'aria-live': 'polite' });
  const el = h('div.palette-host', list, status);
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', id);

  /** The command name being typed ("/dep" → "dep"), or null when no palette applies. */
  function query() {
    const v = input.value;
    if (!v.startsWith('/')) return null;
    const token = v.slice(1);
    if (/\s/.test(token)) return null;
    return token.toLowerCase();
  }

  function find(q) {
    const prefix = commands.filter((c) => c.name.toLowerCase().startsWith(q));
    const inner = commands.filter((c) => !c.name.toLowerCase().startsWith(q) && c.name.toLowerCase().includes(q));
    return [...prefix, ...inner];
  }

  function optionId(i) {
    return `${id}-opt-${i}`;
  }

  function render() {
    list.replaceChildren(
      ...matches.map((c, i) =>
        h('li.palette-option', {
          id: optionId(i),
          role: 'option',
          'aria-selected': String(i === active),
          dataset: { command: c.name },
          onmousedown: (e) => e.preventDefault(), // keep the focus in the textarea
          onclick: () => pick(i),
        },
          h('span.palette-name', `/${c.name}`, c.acceptsArgs && c.argHint ? h('span.palette-args', ` ${c.argHint}`) : null),
          c.description ? h('span.palette-desc', c.description) : null,
        ),
      ),
    );
    input.setAttribute('aria-activedescendant', optionId(active));
    list.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: 'nearest' });
  }

  function show() {
    const was = open;
    open = true;
    list.hidden = false;
    render();
    if (!was || status.dataset.count !== String(matches.length)) {
      status.dataset.count = String(matches.length);
      status.textContent = `${matches.length} command${matches.length === 1 ? '' : 's'}. Up and down to choose, Tab to complete, Enter to use, Escape to close.`;
    }
  }

  function close() {
    if (!open) return;
    open = false;
    list.hidden = true;
    list.replaceChildren();
    input.removeAttribute('aria-activedescendant');
    status.textContent = '';
    delete status.dataset.count;
  }

  /** Re-evaluates the palette for the current input (call on every input event). */
  function update() {
    const q = query();
    if (q === null) {
      dismissed = null;
      lastQuery = null;
      close();
      return;
    }
    if (!open && q === '' && Date.now() - lastRefresh > 2000) {
      // A "/" was just typed: pick up commands the agent changed since the chat opened.
      lastRefresh = Date.now();
      refresh?.();
    }
    if (dismissed !== null && input.value === dismissed) return;
    dismissed = null;
    const next = find(q);
    if (!next.length) {
      matches = [];
      close();
      return;
    }
    const current = open ? matches[active]?.name : null;
    matches = next;
    active = q === lastQuery && current ? Math.max(0, matches.findIndex((c) => c.name === current)) : 0;
    lastQuery = q;
    show();
  }

  function complete(c) {
    input.value = `/${c.name}${c.acceptsArgs ? ' ' : ''}`;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.setSelectionRange(input.value.length, input.value.length);
  }

  function pick(i) {
    const c = matches[i];
    if (!c) return;
    if (c.acceptsArgs) {
      complete(c); // the user types the arguments, then Enter sends
      close();
      input.focus();
      return;
    }
    input.value = `/${c.name}`;
    close();
    send();
    input.focus();
  }

  function move(delta) {
    active = (active + delta + matches.length) % matches.length;
    render();
  }

  function onKeydown(e) {
    if (!open || e.isComposing) return false;
    switch (e.key) {
      case 'ArrowDown':
        move(1);
        break;
      case 'ArrowUp':
        move(-1);
        break;
      case 'Tab':
        if (e.shiftKey) return false;
        complete(matches[active]);
        break;
      case 'Enter':
        if (e.shiftKey) return false;
        pick(active);
        break;
      case 'Escape':
        dismissed = input.value;
        close();
        break;
      default:
        return false;
    }
    e.preventDefault();
    e.stopPropagation();
    return true;
  }

  /** The argument hint of the command being written ("/deploy |" → "/deploy <env>"), if any. */
  function hint() {
    const m = /^\/(\S+)\s/.exec(input.value);
    if (!m) return null;
    const c = commands.find((x) => x.name.toLowerCase() === m[1].toLowerCase());
    return c && c.acceptsArgs ? `/${c.name}${c.argHint ? ` ${c.argHint}` : ' …'}${c.description ? ` — ${c.description}` : ''}` : null;
  }

  return {
    el,
    get open() {
      return open;
    },
    get count() {
      return commands.length;
    },
    setCommands(raw) {
      commands = normalizeCommands(raw);
      if (open || query() !== null) update();
    },
    onKeydown,
    update,
    hint,
    close,
  };
}
