// The dashboard's shared state and a tiny topic-based event bus.
//
// Topics: "me", "agents" (list or one agent changed), "reviews" (a review appeared or was
// resolved somewhere), "conn" (notifications socket state), "frame" (every notification
// frame), "tick" (every 30 s, to refresh relative times).

export const store = {
  /** The logged-in user. */
  me: null,
  /** Agents (= channels) by id, as GET /api/agents returns them. */
  agents: new Map(),
  agentsLoaded: false,
  agentsError: null,
  /** Pending reviews across all agents. */
  pendingCount: 0,
  /** State of the notifications socket. */
  conn: 'connecting',
  /** The channel open in the chat view, if any (its messages are read as they come). */
  openChannel: null,
};

const topics = new Map();

export function on(topic, fn) {
  if (!topics.has(topic)) topics.set(topic, new Set());
  topics.get(topic).add(fn);
  return () => topics.get(topic)?.delete(fn);
}

export function emit(topic, data) {
  for (const fn of [...(topics.get(topic) ?? [])]) {
    try {
      fn(data);
    } catch (err) {
      console.error(err);
    }
  }
}

/** Last activity of an agent, for sorting (ms). */
export function activityOf(a) {
  return Math.max(Date.parse(a.lastMessageTime ?? '') || 0, Date.parse(a.createdAt ?? '') || 0);
}
