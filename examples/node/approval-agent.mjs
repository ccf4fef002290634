// Placet's WebSocket "Full Example", run against Assent: an agent that sends a deployment
// approval request and waits for the human's decision over Socket.IO.
//
// The code below is the documented example nearly verbatim. What was added to make it a
// runnable program: configuration from the environment, the approval is sent once (not again
// after a reconnect), only events for *this* approval count, and the process exits with a
// status a script can test:
//
//   0  a human decided (approve or reject); the decision is printed
//   1  setup failed (bad configuration, refused API key, the POST was refused)
//   3  the review expired on the server (review:expired)
//   4  no decision within ASSENT_AGENT_TIMEOUT_MS
//
// Environment:
//   ASSENT_URL                        server base URL (default http://127.0.0.1:8080)
//   ASSENT_API_KEY                    the agent's API key, hp_… (required)
//   ASSENT_CHANNEL_ID                 the agent's id = its channel id (required)
//   ASSENT_REVIEW_EXPIRES_IN_SECONDS  optional review.expiresInSeconds (server default: 24 h)
//   ASSENT_AGENT_TIMEOUT_MS           how long to wait for a decision (default 300000 = 5 min)

import { io } from 'socket.io-client';

const PLACET_URL = (process.env.ASSENT_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const API_KEY = process.env.ASSENT_API_KEY;
const CHANNEL_ID = process.env.ASSENT_CHANNEL_ID;
const EXPIRES_IN_SECONDS = process.env.ASSENT_REVIEW_EXPIRES_IN_SECONDS;
const TIMEOUT_MS = Number(process.env.ASSENT_AGENT_TIMEOUT_MS || 300_000);

if (!API_KEY || !CHANNEL_ID) {
  console.error('Set ASSENT_API_KEY and ASSENT_CHANNEL_ID (and ASSENT_URL if not http://127.0.0.1:8080).');
  process.exit(1);
}
if (EXPIRES_IN_SECONDS !== undefined && !(Number.isInteger(Number(EXPIRES_IN_SECONDS)) && Number(EXPIRES_IN_SECONDS) > 0)) {
  console.error(`ASSENT_REVIEW_EXPIRES_IN_SECONDS must be a positive integer, got ${JSON.stringify(EXPIRES_IN_SECONDS)}`);
  process.exit(1);
}

let approvalId; // the id of the message we sent; set once the POST answered
let sent = false;
const early = []; // [event, data] that arrived before the POST answered

const giveUp = setTimeout(() => {
  console.log(`No decision within ${TIMEOUT_MS} ms — giving up`);
  finish(4);
}, TIMEOUT_MS);

function finish(code) {
  clearTimeout(giveUp);
  socket.disconnect();
  process.exitCode = code;
  // Nothing else should keep the process alive; this is only a safety net.
  setTimeout(() => process.exit(code), 2_000).unref();
}

// 1. Connect via WebSocket
const socket = io(`${PLACET_URL}/ws`, {
  auth: { apiKey: API_KEY },
  transports: ['websocket'],
});

socket.on('connect', () => {
  console.log('Connected to Placet');
  // Re-subscribe on every (re)connect: subscriptions do not survive a reconnect.
  socket.emit('subscribe:channel', CHANNEL_ID);

  // 2. Send a deployment approval request (once, not again after a reconnect)
  if (!sent) {
    sent = true;
    sendApproval().catch((err) => {
      console.error(`Could not send the approval: ${err.message}`);
      finish(1);
    });
  }
});

socket.on('connect_error', (err) => {
  // A refused API key is final (socket.active is false); network errors are retried.
  if (!socket.active) {
    console.error(`Connection refused: ${err.message}`);
    finish(1);
  }
});

// 3. Listen for the review response
socket.on('review:responded', (data) => {
  if (approvalId === undefined) return void early.push(['review:responded', data]);
  if (data.id !== approvalId) return; // another review in the same channel

  const { selectedOption, comment } = data.review.response;
  console.log(`Decision: ${selectedOption}`);
  if (comment) console.log(`Comment: ${comment}`);

  if (selectedOption === 'approve') {
    console.log('Deploying...');
    // Trigger deployment
  } else {
    console.log('Deployment cancelled');
  }
  finish(0);
});

socket.on('review:expired', (data) => {
  if (approvalId === undefined) return void early.push(['review:expired', data]);
  if (data.messageId !== approvalId) return;

  console.log(`Review ${data.messageId} expired — no response received`);
  finish(3);
});

async function sendApproval() {
  const review = {
    type: 'approval',
    payload: {
      options: [
        { id: 'approve', label: 'Approve', style: 'primary' },
        { id: 'reject', label: 'Reject', style: 'danger' },
      ],
      allowComment: true,
    },
  };
  if (EXPIRES_IN_SECONDS !== undefined) review.expiresInSeconds = Number(EXPIRES_IN_SECONDS);

  const res = await fetch(`${PLACET_URL}/api/v1/messages`, {
    method: 'POST',
    headers: {
      'x-api-key': API_KEY,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({
      channelId: CHANNEL_ID,
      text: '### Deploy v2.1.0 to production?',
      review,
    }),
  });
  if (!res.ok) throw new Error(`POST /api/v1/messages answered ${res.status}: ${await res.text()}`);
  const message = await res.json();
  console.log(`Approval sent: ${message.id}`);

  approvalId = message.id;
  for (const [event, data] of early.splice(0)) socket.listeners(event).forEach((fn) => fn(data));
}
