// The files picked in the composer before they are sent, as a pure reducer over a list
// (the chat state's `uploads`, see state.js). Each file is stored on the server as soon as it
// is picked (POST /api/files/store), so its chip shows progress or the error; a send links
// the stored ones to the message (`attachmentIds`).
//
//   {key, name, size, mimeType, state: 'uploading' | 'stored' | 'failed', loaded, error, attachment}
//
// The File objects themselves stay in the composer (views/chat/attach.js), keyed by `key`.

const patch = (list, key, fn) => {
  let changed = false;
  const next = list.map((u) => {
    if (u.key !== key) return u;
    const v = fn(u);
    if (v !== u) changed = true;
    return v;
  });
  return changed ? next : list;
};

/** The next list after an `upload_*` action; the same list when nothing changed. */
export function reduceUploads(list = [], a = {}) {
  switch (a.type) {
    case 'upload_added':
      if (list.some((u) => u.key === a.key)) return list;
      return [...list, { key: a.key, name: a.name ?? 'file', size: a.size ?? 0, mimeType: a.mimeType ?? '', state: 'uploading', loaded: 0, error: null, attachment: null }];
    case 'upload_progress':
      return patch(list, a.key, (u) => (u.state === 'uploading' && a.loaded !== u.loaded ? { ...u, loaded: Math.max(0, Math.min(a.loaded, u.size || a.loaded)) } : u));
    case 'upload_stored':
      return patch(list, a.key, (u) => ({ ...u, state: 'stored', loaded: u.size, error: null, attachment: a.attachment }));
    case 'upload_failed':
      return patch(list, a.key, (u) => (u.state === 'uploading' ? { ...u, state: 'failed', error: a.error ?? 'Upload failed', retryable: a.retryable !== false } : u));
    case 'upload_retry':
      return patch(list, a.key, (u) => (u.state === 'failed' ? { ...u, state: 'uploading', loaded: 0, error: null } : u));
    case 'upload_removed':
      return list.some((u) => u.key === a.key) ? list.filter((u) => u.key !== a.key) : list;
    case 'uploads_sent': {
      // The stored files that went out with a message leave the composer.
      const ids = new Set(a.attachmentIds ?? []);
      const next = list.filter((u) => !ids.has(u.attachment?.id));
      return next.length === list.length ? list : next;
    }
    default:
      return list;
  }
}

/** Upload progress in percent (0–100). */
export function progressOf(u) {
  if (u.state === 'stored') return 100;
  if (!u.size) return 0;
  return Math.min(100, Math.floor((u.loaded / u.size) * 100));
}

/**
 * What a send can do with the picked files: `busy` (some still uploading), `failed` (the ones
 * that failed), `attachments` (the stored records, in the order picked), `ready` (every file
 * is stored).
 */
export function uploadSummary(list = []) {
  const failed = list.filter((u) => u.state === 'failed');
  const attachments = list.filter((u) => u.state === 'stored').map((u) => u.attachment);
  return { busy: list.some((u) => u.state === 'uploading'), failed, attachments, ready: attachments.length === list.length };
}
