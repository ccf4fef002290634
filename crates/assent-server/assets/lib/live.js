// The dashboard's live link: one managed socket on /ws/notifications (the user's events
// across all channels). It keeps the agent list, unread counts, statuses and the pending
// review count current; on every (re)connect it refetches, since that stream does not resume.

import { client, report } from './api.js';
import { emit, store } from './store.js';

let socket = null;
let ticker = null;
let reviewTimer = null;

export async function refreshAgents() {
  try {
    const list = await client.agents.list();
    store.agents = new Map(list.map((a) => [a.id, a]));
    store.agentsLoaded = true;
    store.agentsError = null;
  } catch (err) {
    store.agentsError = err;
    report(err, 'Could not load agents');
  }
  emit('agents');
}

export async function refreshPendingCount() {
  try {
    const list = await client.reviews.list({ status: 'pending' });
    store.pendingCount = list.length;
    emit('pending');
  } catch (err) {
    report(err);
  }
}

function refreshPendingSoon() {
  clearTimeout(reviewTimer);
  reviewTimer = setTimeout(refreshPendingCount, 250);
}

function onFrame(f) {
  const a = f.channel_id ? store.agents.get(f.channel_id) : null;
  switch (f.event_type) {
    case 'message_created':
      if (!a) {
        refreshAgents();
        break;
      }
      if (typeof f.preview === 'string' && f.preview !== '') a.lastMessage = f.preview;
      a.lastMessageTime = new Date().toISOString();
      if (f.sender_type === 'agent' && store.openChannel !== f.channel_id) a.unreadCount = (a.unreadCount ?? 0) + 1;
      emit('agents');
      break;
    case 'agent_status':
      if (!a) break;
      if (a.status !== f.status) a.statusSince = new Date().toISOString();
      a.status = f.status;
      a.statusMessage = f.status_message ?? null;
      a.lastActiveAt = new Date().toISOString();
      emit('agents');
      break;
    case 'review_pending':
    case 'review_resolved':
      refreshPendingSoon();
      emit('reviews', f);
      break;
    default:
      break;
  }
  emit('frame', f);
}

export function startLive() {
  if (socket) return;
  let wasOpen = false;
  client.websocket
    .connect('/notifications', {}, 'notifications', { waitForOpen: false, reconnectDelay: 800 })
    .then((s) => {
      socket = s;
      s.onMessage.subscribe((e) => onFrame(e.json));
      s.onStateChange.subscribe((state) => {
        store.conn = state;
        emit('conn', state);
        if (state === 'open') {
          // Catch up on whatever happened while disconnected.
          if (wasOpen) {
            refreshAgents();
            refreshPendingCount();
            emit('resync');
          }
          wasOpen = true;
        }
      });
      s.onError.subscribe((err) => {
        if (err?.status === 401) report(err);
      });
    });
  ticker = setInterval(() => emit('tick'), 30_000);
}

export function stopLive() {
  clearInterval(ticker);
  ticker = null;
  client.websocket.closeAll();
  socket = null;
}
