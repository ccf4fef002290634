// The files API of the dashboard (session cookie): storing a file with upload progress
// (XMLHttpRequest: fetch reports no upload progress), listing and deleting an agent's
// files, a message with attachments, and a review answer with modified files.
// Errors are AssentError, like the client's.

import { AssentError } from '/client/index.js';
import { client } from './api.js';

const enc = encodeURIComponent;

function failure(xhr) {
  let json;
  try {
    json = JSON.parse(xhr.responseText || 'null');
  } catch {
    json = null;
  }
  const message = (typeof json?.message === 'string' && json.message) || `HTTP ${xhr.status}`;
  return new AssentError(message, {
    status: xhr.status,
    code: json?.code ?? (xhr.status === 413 ? 'payload_too_large' : `http_${xhr.status}`),
    errors: Array.isArray(json?.errors) ? json.errors : [],
    body: json ?? xhr.responseText,
  });
}

/**
 * Stores `file` unlinked in channel `channelId` (POST /api/files/store, multipart) and
 * resolves with its attachment record. `onProgress(loaded, total)` follows the upload;
 * `signal` aborts it (the promise then rejects with an AbortError).
 */
export function storeFile(file, { channelId, onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/files/store');
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.addEventListener('progress', (e) => onProgress?.(e.loaded, e.lengthComputable ? e.total : file.size));
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText));
        } catch {
          reject(new AssentError('The server sent an unreadable answer', { status: xhr.status, code: 'bad_response' }));
        }
      } else reject(failure(xhr));
    });
    xhr.addEventListener('error', () => reject(new AssentError('Cannot reach the server')));
    xhr.addEventListener('abort', () => reject(new DOMException('The upload was cancelled', 'AbortError')));
    if (signal?.aborted) return xhr.abort();
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    const form = new FormData();
    form.append('channelId', channelId);
    form.append('file', file, file.name || 'file');
    xhr.send(form);
  });
}

/** A page of an agent's files, newest first: {data, nextCursor}. `query`: see filesQuery. */
export const listFiles = (query) => client.request('GET', '/api/files', { params: query });

export const deleteFile = (id) => client.request('DELETE', `/api/files/${enc(id)}`);

/** Posts a message as the human; `attachmentIds` link stored files to it; text may be blank then. */
export function sendMessage(channelId, { text, clientId, attachmentIds }) {
  if (!attachmentIds?.length) return client.messages.send(channelId, text, clientId);
  const body = { channelId, clientId, attachmentIds };
  if (String(text ?? '').trim()) body.text = text;
  return client.request('POST', '/api/messages', { body });
}

/** Answers a review; `modifiedFileIds` maps an original attachment id to a stored replacement. */
export function respondWithFiles(messageId, response, feedback, modifiedFileIds) {
  if (!modifiedFileIds || !Object.keys(modifiedFileIds).length) return client.reviews.respond(messageId, response, feedback);
  const body = { response, modifiedFileIds };
  if (feedback) body.feedback = feedback;
  return client.request('POST', `/api/messages/${enc(messageId)}/respond`, { body });
}
