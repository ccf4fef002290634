// Assent's plugin bridge, run before a plugin's render.html inside a sandboxed iframe
// (opaque origin: no cookies, storage or DOM of the dashboard). It exposes Placet's `Placet`
// object (also as `HumanProxy`). The context arrives in the URL fragment, so it is there
// before the plugin's own scripts run; everything else goes through postMessage.
(function () {
  'use strict';
  var ctx = {};
  try {
    var raw = location.hash.slice(1).replace(/-/g, '+').replace(/_/g, '/');
    var bytes = Uint8Array.from(atob(raw), function (c) { return c.charCodeAt(0); });
    ctx = JSON.parse(new TextDecoder().decode(bytes)) || {};
  } catch (e) {
    ctx = {};
  }
  var nextId = 0;
  var pending = {};
  var handlers = {};
  var responded = false;
  function send(type, payload, id) {
    window.parent.postMessage({ type: type, id: id, payload: payload }, '*');
  }
  function call(type, payload) {
    return new Promise(function (resolve, reject) {
      var id = 'hp_' + (++nextId);
      var timer = setTimeout(function () {
        delete pending[id];
        reject(new Error(type + ' timed out (30 s)'));
      }, 30000);
      pending[id] = { resolve: resolve, reject: reject, timer: timer };
      send(type, payload, id);
    });
  }
  var api = {
    pluginName: ctx.pluginName || '',
    data: ctx.data || {},
    attachments: ctx.attachments || [],
    message: ctx.message || null,
    theme: ctx.theme === 'dark' ? 'dark' : 'light',
    env: ctx.env || {},
    review: ctx.review || null,
    isPreview: !!ctx.isPreview,
    fetch: function () {
      return Promise.reject(new Error('Network requests are not available to plugins in Assent'));
    },
    resize: function () {
      var body = document.body;
      var h = body ? Math.ceil(body.getBoundingClientRect().height) : 0;
      if (!h) h = document.documentElement.scrollHeight;
      send('hp:resize', { height: Math.min(h, 800) });
    },
    toast: function (message, variant) {
      send('hp:toast', { message: String(message), variant: variant || 'info' });
    },
    emit: function (action, data) {
      send('hp:emit', { action: String(action), data: data || {} });
    },
    respond: function (response) {
      if (responded) return Promise.reject(new Error('Already responded to this review'));
      if (!api.review || api.review.status !== 'pending') {
        return Promise.reject(new Error('No pending review to respond to'));
      }
      responded = true;
      return call('hp:respond', { response: response }).catch(function (e) {
        responded = false;
        throw e;
      });
    },
    getFile: function (attachmentId) { return call('hp:getFile', { attachmentId: attachmentId }); },
    getFileUrl: function (attachmentId) { return call('hp:getFileUrl', { attachmentId: attachmentId }); },
    on: function (event, handler) { (handlers[event] = handlers[event] || []).push(handler); },
  };
  window.addEventListener('message', function (e) {
    if (e.source !== window.parent) return;
    var msg = e.data;
    if (!msg || typeof msg.type !== 'string') return;
    if (msg.id && pending[msg.id] && /:(response|result)$/.test(msg.type)) {
      var p = pending[msg.id];
      delete pending[msg.id];
      clearTimeout(p.timer);
      if (msg.payload && msg.payload.ok === false) p.reject(new Error(msg.payload.error || 'refused'));
      else p.resolve(msg.payload);
    } else if (msg.type === 'hp:event' && msg.payload) {
      (handlers[msg.payload.event] || []).forEach(function (h) { h(msg.payload.data); });
    }
  });
  if (api.theme === 'dark') document.documentElement.classList.add('dark');
  window.Placet = api;
  window.HumanProxy = api;
  window.addEventListener('load', function () {
    api.resize();
    // Follow the content as it grows or shrinks (images loading, a plugin's own layout).
    if (typeof ResizeObserver === 'function' && document.body) {
      new ResizeObserver(function () { api.resize(); }).observe(document.body);
    }
  });
})();
