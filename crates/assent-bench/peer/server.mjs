// The Node.js peer of the side-by-side benchmark (docs/BENCHMARKS.md, "Side by side"): the
// least a Node server needs to take the same load as Assent from assent-bench. One
// http.createServer, socket.io 4.8, better-sqlite3 with WAL and synchronous=FULL, one INSERT
// per POST, then io.to(channel).emit('message:created'). No framework, no validation beyond
// the key hash. It answers only the routes assent-bench's ingest and idle scenarios call:
//   POST /api/auth/login, POST /api/api-keys, POST /api/v1/agents, POST /api/v1/messages,
//   GET /health, and Socket.IO namespace /ws with auth.apiKey and `subscribe:channel`.
//   node server.mjs --port 18780 --db /tmp/peer.db
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Database from 'better-sqlite3';
import { Server } from 'socket.io';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const port = Number(arg('port', '18780'));
const db = new Database(arg('db', 'peer.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec(`CREATE TABLE IF NOT EXISTS keys (hash TEXT PRIMARY KEY, user_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channels (id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, seq INTEGER NOT NULL,
  text TEXT, metadata TEXT, created_at INTEGER NOT NULL);`);
const insertKey = db.prepare('INSERT INTO keys (hash, user_id) VALUES (?, ?)');
const keyUser = db.prepare('SELECT user_id FROM keys WHERE hash = ?');
const insertChannel = db.prepare('INSERT INTO channels (id, owner_id, name) VALUES (?, ?, ?)');
const channelOwner = db.prepare('SELECT owner_id FROM channels WHERE id = ?');
const insertMessage = db.prepare('INSERT INTO messages (id, channel_id, seq, text, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?)');
const USER = 'owner';
const sessions = new Set();
const seqs = new Map();
const id = () => randomBytes(12).toString('hex');
const sha = (s) => createHash('sha256').update(s).digest('hex');
const userOfKey = (key) => (key ? keyUser.get(sha(key))?.user_id : undefined);

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function route(req, res, body) {
  const url = req.url.split('?')[0];
  if (req.method === 'GET' && url === '/health') return send(res, 200, { status: 'ok' });
  if (req.method !== 'POST') return send(res, 404, { message: 'not found' });
  if (url === '/api/auth/login') {
    const token = id();
    sessions.add(token);
    return send(res, 200, { token });
  }
  if (url === '/api/api-keys') {
    const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!sessions.has(bearer)) return send(res, 401, { message: 'unauthorized' });
    const key = `hp_${id()}`;
    insertKey.run(sha(key), USER);
    return send(res, 201, { key });
  }
  const user = userOfKey(req.headers['x-api-key']);
  if (!user) return send(res, 401, { message: 'invalid key' });
  if (url === '/api/v1/agents') {
    const agent = { id: id(), name: String(body.name ?? 'agent') };
    insertChannel.run(agent.id, user, agent.name);
    return send(res, 201, agent);
  }
  if (url === '/api/v1/messages') {
    const channelId = String(body.channelId ?? '');
    if (channelOwner.get(channelId)?.owner_id !== user) return send(res, 403, { message: 'Not your agent' });
    const seq = (seqs.get(channelId) ?? 0) + 1;
    seqs.set(channelId, seq);
    const m = {
      id: id(), channelId, senderType: 'agent', text: body.text ?? null,
      metadata: body.metadata ?? null, seq, createdAt: new Date().toISOString(),
    };
    insertMessage.run(m.id, channelId, seq, m.text, JSON.stringify(m.metadata), Date.now());
    io.of('/ws').to(channelId).emit('message:created', m);
    return send(res, 201, m);
  }
  return send(res, 404, { message: 'not found' });
}

const http = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body = {};
    if (chunks.length) {
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { return send(res, 400, { message: 'invalid JSON' }); }
    }
    route(req, res, body);
  });
});
http.keepAliveTimeout = 65_000;
const io = new Server(http, { transports: ['websocket', 'polling'] });
io.of('/ws').use((socket, next) => {
  const user = userOfKey(socket.handshake.auth?.apiKey);
  if (!user) return next(new Error('unauthorized'));
  socket.data.user = user;
  next();
});
io.of('/ws').on('connection', (socket) => {
  socket.on('subscribe:channel', (channelId, ack) => {
    const ch = typeof channelId === 'string' ? channelId : channelId?.channelId;
    const ok = channelOwner.get(String(ch))?.owner_id === socket.data.user;
    if (ok) socket.join(String(ch));
    if (typeof ack === 'function') ack(ok ? { ok: true } : { ok: false, error: 'Not your agent' });
  });
});
http.listen(port, '127.0.0.1', () => console.log(`peer listening on http://127.0.0.1:${port}`));
// Stop at once (a run is over): what was answered is committed, the rest is not.
process.on('SIGTERM', () => { db.close(); process.exit(0); });
