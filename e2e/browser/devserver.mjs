// A small static server for the dashboard's assets, for working on them without rebuilding
// the Rust binary. It serves crates/assent-server/assets/ (and clients/js/src/ under /client/)
// the way the server does (files by
// extension, unknown non-API paths → index.html) and proxies /api, /ws, /socket.io, /health,
// /metrics and /plugins (the plugins' frames; HTTP and WebSocket upgrades) to a running Assent
// server.
//
//   ASSENT_UPSTREAM=http://127.0.0.1:8080 PORT=8081 node e2e/browser/devserver.mjs
//
// Also importable: `startDevServer({upstream, port})` → `{url, close}`.

import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ASSETS_DIR = path.resolve(here, '../../crates/assent-server/assets');
/** `/client/…` is the JS client's sources, as the server serves them. */
export const CLIENT_DIR = path.resolve(here, '../../clients/js/src');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

/** The Content-Security-Policy the dashboard is written for (no inline script or style). */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const PROXIED = /^\/(api|ws|socket\.io|health|metrics|plugins)(\/|$|\?)/;

function serveAsset(req, res) {
  const url = new URL(req.url, 'http://x');
  const pathname = decodeURIComponent(url.pathname);
  const [root, rel] = pathname.startsWith('/client/')
    ? [CLIENT_DIR, pathname.slice('/client'.length)]
    : [ASSETS_DIR, pathname];
  let file = path.normalize(path.join(root, rel));
  if (!file.startsWith(root)) {
    res.writeHead(400).end();
    return;
  }
  let st;
  try {
    st = statSync(file);
    if (st.isDirectory()) {
      file = path.join(file, 'index.html');
      st = statSync(file);
    }
  } catch {
    // SPA fallback: app routes (no extension) get index.html; missing files are 404.
    if (path.extname(url.pathname)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    file = path.join(ASSETS_DIR, 'index.html');
  }
  res.writeHead(200, {
    'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': CSP,
    'referrer-policy': 'no-referrer',
  });
  createReadStream(file).pipe(res);
}

function proxyHttp(upstream, req, res) {
  const target = new URL(req.url, upstream);
  const preq = http.request(
    target,
    { method: req.method, headers: { ...req.headers, host: target.host } },
    (pres) => {
      res.writeHead(pres.statusCode ?? 502, pres.headers);
      pres.pipe(res);
    },
  );
  preq.on('error', (err) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ statusCode: 502, message: `upstream: ${err.message}`, code: 'bad_gateway' }));
  });
  req.pipe(preq);
}

/** Relays a WebSocket upgrade byte for byte to the upstream server. */
function proxyUpgrade(upstream, req, socket, head) {
  const target = new URL(upstream);
  const up = net.connect(Number(target.port || 80), target.hostname, () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const k = req.rawHeaders[i];
      lines.push(`${k}: ${k.toLowerCase() === 'host' ? target.host : req.rawHeaders[i + 1]}`);
    }
    up.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head?.length) up.write(head);
    up.pipe(socket);
    socket.pipe(up);
  });
  const end = () => {
    up.destroy();
    socket.destroy();
  };
  up.on('error', end);
  socket.on('error', end);
  up.on('close', end);
  socket.on('close', end);
}

export async function startDevServer({ upstream, port = 0, host = '127.0.0.1' } = {}) {
  if (!upstream) throw new Error('upstream (the Assent server URL) is required');
  const server = http.createServer((req, res) => {
    if (PROXIED.test(req.url)) proxyHttp(upstream, req, res);
    else if (req.method === 'GET' || req.method === 'HEAD') serveAsset(req, res);
    else res.writeHead(405).end();
  });
  server.on('upgrade', (req, socket, head) => {
    if (PROXIED.test(req.url)) proxyUpgrade(upstream, req, socket, head);
    else socket.destroy();
  });
  return new Promise((resolve) => {
    server.listen(port, host, () => {
      const { port: p } = server.address();
      resolve({
        url: `http://${host}:${p}`,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const upstream = process.env.ASSENT_UPSTREAM ?? process.env.ASSENT_URL ?? 'http://127.0.0.1:8080';
  const { url } = await startDevServer({ upstream, port: Number(process.env.PORT ?? 8081) });
  console.log(`dashboard dev server on ${url} → ${upstream} (assets: ${ASSETS_DIR})`);
}
