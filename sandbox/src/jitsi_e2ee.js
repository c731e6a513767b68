/*
 * Rounds sandbox clinic: end-to-end frame encryption for the meeting page.
 * Served at /_sandbox/jitsi/e2ee-worker.js and loaded two ways:
 *  - as a dedicated Worker for RTCRtpScriptTransform (onrtctransform; keys and flags by postMessage);
 *  - as a page script (window.SandboxE2EE) for the createEncodedStreams() fallback.
 * Frame layout. Clear:     payload | 0x00
 *               Encrypted: header (codec bytes left in clear) | AES-GCM(rest, aad=header) | iv(12) | headerLen | 0x01
 * Header as Jitsi leaves it: VP8 key frame 10 bytes, delta frame 3, Opus 1.
 */
(function (g) {
  'use strict';
  var CLEAR = 0, ENC = 1;
  var ctxs = {};
  function ctx(peer) {
    return ctxs[peer] || (ctxs[peer] = { key: null, on: false, encrypted: 0, decrypted: 0, failures: 0, clear: 0 });
  }
  function headerLen(kind, frame) {
    if (kind === 'audio') { return 1; }
    return frame.type === 'key' ? 10 : 3;
  }
  function encrypt(c, kind, frame) {
    var data = new Uint8Array(frame.data);
    if (data.length === 0) { return Promise.resolve(frame); }
    if (!(c.on && c.key)) {
      var out = new Uint8Array(data.length + 1);
      out.set(data);
      out[data.length] = CLEAR;
      frame.data = out.buffer;
      return Promise.resolve(frame);
    }
    var n = Math.min(headerLen(kind, frame), data.length);
    var iv = g.crypto.getRandomValues(new Uint8Array(12));
    return g.crypto.subtle.encrypt({ name: 'AES-GCM', iv: iv, additionalData: data.subarray(0, n) }, c.key, data.subarray(n))
      .then(function (ct) {
        ct = new Uint8Array(ct);
        var out = new Uint8Array(n + ct.length + 14);
        out.set(data.subarray(0, n));
        out.set(ct, n);
        out.set(iv, n + ct.length);
        out[out.length - 2] = n;
        out[out.length - 1] = ENC;
        frame.data = out.buffer;
        c.encrypted++;
        return frame;
      });
  }
  function decrypt(c, frame) {
    var data = new Uint8Array(frame.data);
    if (data.length === 0) { return Promise.resolve(frame); }
    var mark = data[data.length - 1];
    if (mark === CLEAR) {
      frame.data = data.slice(0, data.length - 1).buffer;
      c.clear++;
      return Promise.resolve(frame);
    }
    var ivAt = data.length - 14, n = data[data.length - 2];
    if (mark !== ENC || ivAt < 0 || n > ivAt || !c.key) { c.failures++; return Promise.resolve(null); }
    var iv = data.slice(ivAt, ivAt + 12);
    return g.crypto.subtle.decrypt({ name: 'AES-GCM', iv: iv, additionalData: data.subarray(0, n) }, c.key, data.subarray(n, ivAt))
      .then(function (pt) {
        pt = new Uint8Array(pt);
        var out = new Uint8Array(n + pt.length);
        out.set(data.subarray(0, n));
        out.set(pt, n);
        frame.data = out.buffer;
        c.decrypted++;
        return frame;
      }, function () { c.failures++; return null; });
  }
  /** A TransformStream for one sender ('send') or receiver ('recv') of `peer`. */
  function transform(dir, kind, peer) {
    return new g.TransformStream({
      transform: function (frame, ctl) {
        var c = ctx(peer);
        return (dir === 'send' ? encrypt(c, kind, frame) : decrypt(c, frame)).then(function (f) {
          if (f) { ctl.enqueue(f); }
        }, function () { c.failures++; });
      }
    });
  }
  function snapshot() {
    var out = {};
    Object.keys(ctxs).forEach(function (p) {
      var c = ctxs[p];
      out[p] = { keyed: !!c.key, on: c.on, encrypted: c.encrypted, decrypted: c.decrypted, failures: c.failures, clear: c.clear };
    });
    return out;
  }
  /** Messages: {type:'key', peer, key: CryptoKey|null}, {type:'on', peer, on}, {type:'stats'}. */
  function message(m) {
    if (!m || typeof m.type !== 'string') { return null; }
    if (m.type === 'key') { ctx(m.peer).key = m.key || null; }
    if (m.type === 'on') { ctx(m.peer).on = !!m.on; }
    if (m.type === 'stats') { return snapshot(); }
    return null;
  }
  var inWorker = typeof g.WorkerGlobalScope !== 'undefined' && g instanceof g.WorkerGlobalScope;
  if (inWorker) {
    g.onrtctransform = function (e) {
      var t = e.transformer, o = t.options || {};
      t.readable.pipeThrough(transform(o.dir, o.kind, o.peer)).pipeTo(t.writable).catch(function () {});
    };
    g.onmessage = function (e) {
      var s = message(e.data);
      if (s) { g.postMessage({ type: 'stats', ctxs: s }); }
    };
  } else {
    g.SandboxE2EE = { transform: transform, message: message, snapshot: snapshot };
  }
})(self);
