// A tiny typed-event emitter: the one interface every managed-socket event shares
// (`subscribe(fn)` returns the function that unsubscribes).

export class Emitter {
  #listeners = new Set();

  /** Adds `fn`; returns a function that removes it (safe to call twice). */
  subscribe(fn) {
    if (typeof fn !== 'function') throw new TypeError('subscribe expects a function');
    // Wrap so that subscribing the same function twice yields two independent subscriptions.
    const entry = { fn };
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /** Calls every listener with `value`; a throwing listener does not stop the others. */
  emit(value) {
    for (const entry of [...this.#listeners]) {
      try {
        entry.fn(value);
      } catch (err) {
        // One faulty listener must not break delivery to the others: report and go on.
        if (typeof globalThis.reportError === 'function') globalThis.reportError(err);
        else console.error(err);
      }
    }
  }

  /** How many listeners are subscribed. */
  get size() {
    return this.#listeners.size;
  }

  /** Removes every listener. */
  clear() {
    this.#listeners.clear();
  }
}
