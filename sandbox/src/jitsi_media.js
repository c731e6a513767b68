/*
 * Rounds sandbox clinic: real media for the Jitsi stand-in meeting page (window.SandboxMedia).
 * Peer-to-peer WebRTC on loopback (iceServers: []), signalling through /_sandbox/jitsi/{room}/signal.
 * The moderator's page is the only offerer: every media page says `hello` once it has its camera
 * (or failed to get one); the host answers a participant's hello with an offer, a participant
 * answers the host's hello with its own hello. Participant (patient) pages also knock / join.
 * E2EE (room flag set by toggleE2EE): AES-GCM per frame under an ECDH P-256 key derived in the pages.
 * Without RTCPeerConnection + getUserMedia the page stays the no-media stand-in.
 */
(function (g) {
  'use strict';
  var nav = g.navigator || {};
  var can = typeof g.RTCPeerConnection === 'function' && !!nav.mediaDevices &&
    typeof nav.mediaDevices.getUserMedia === 'function';
  var subtle = g.crypto && g.crypto.subtle;
  var useScript = can && !!subtle && typeof g.RTCRtpScriptTransform === 'function' && typeof g.Worker === 'function';
  var useStreams = can && !!subtle && !useScript && !!g.RTCRtpSender && typeof g.RTCRtpSender.prototype.createEncodedStreams === 'function';
  var supported = useScript || useStreams;
  var cfg = null, api = null, base = '';
  var S = { phase: 'init', closed: false, error: null, e2eeRoom: false, lastTotals: null,
    t: { pageLoad: Date.now(), joined: null, admitted: null, iceConnected: null, firstFrame: null } };
  var local = null, peers = {}, pendingKeys = {}, worker = null, workerCtxs = {}, sigSince = 0, timer = null, devices = {};
  var ready = null, readyResolve = null, chain = null;
  var closedTotals = { framesDecoded: 0, framesReceived: 0, totalSamplesReceived: 0, framesEncoded: 0 };

  function log(s) { if (api) { api.log('· ' + s); } }
  function status(s) { if (api) { api.setState(s); } }
  function post(path, body) { api.http('POST', base + path, JSON.stringify(body), function () {}); }
  function beacon(path, body) {
    if (nav.sendBeacon) { nav.sendBeacon(base + path, JSON.stringify(body)); } else { post(path, body); }
  }
  function sig(to, kind, data) { post('/signal', { from: cfg.localId, to: to, kind: kind, data: data || {} }); }
  function sid() { return Math.random().toString(36).slice(2, 10); }
  function b64(buf) { return g.btoa(String.fromCharCode.apply(null, new Uint8Array(buf))); }
  function unb64(s) { var b = g.atob(s), u = new Uint8Array(b.length); for (var i = 0; i < b.length; i++) { u[i] = b.charCodeAt(i); } return u; }

  // ---- E2EE plumbing ------------------------------------------------------------------------
  function e2eeMsg(m) {
    if (worker) { worker.postMessage(m); } else if (g.SandboxE2EE) { g.SandboxE2EE.message(m); }
  }
  function e2eeFlags() {
    Object.keys(peers).forEach(function (id) { e2eeMsg({ type: 'on', peer: id, on: S.e2eeRoom && !!peers[id].aes }); });
  }
  function attach(p, rtp, dir, kind) {
    if (p.mode === 'none' || rtp.sbxAttached) { return; }
    rtp.sbxAttached = true;
    try {
      if (p.mode === 'script') {
        rtp.transform = new g.RTCRtpScriptTransform(worker, { dir: dir, kind: kind, peer: p.id });
      } else {
        var s = rtp.createEncodedStreams();
        s.readable.pipeThrough(g.SandboxE2EE.transform(dir, kind, p.id)).pipeTo(s.writable).catch(function () {});
      }
    } catch (e) { S.error = S.error || ('e2ee: ' + e.name); log('transform failed: ' + e); }
  }
  function sendKey(p) {
    subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveKey']).then(function (kp) {
      p.ecdh = kp;
      return subtle.exportKey('raw', kp.publicKey);
    }).then(function (raw) {
      sig(p.id, 'e2ee-key', { sid: p.sid, pub: b64(raw) });
      if (p.theirPub) { derive(p, p.theirPub); }
    }).catch(function (e) { log('ECDH: ' + e); });
  }
  function derive(p, pub) {
    if (!p.ecdh) { p.theirPub = pub; return; }
    subtle.importKey('raw', unb64(pub), { name: 'ECDH', namedCurve: 'P-256' }, false, []).then(function (k) {
      return subtle.deriveKey({ name: 'ECDH', public: k }, p.ecdh.privateKey, { name: 'AES-GCM', length: 128 }, false, ['encrypt', 'decrypt']);
    }).then(function (aes) {
      p.aes = aes;
      e2eeMsg({ type: 'key', peer: p.id, key: aes });
      e2eeFlags();
      log('e2ee key agreed with ' + p.id);
    }).catch(function (e) { log('derive: ' + e); });
  }

  // ---- peers --------------------------------------------------------------------------------
  function tile(id, label) {
    var box = g.document.getElementById('media');
    var el = g.document.getElementById('v-' + id);
    if (!el) {
      var d = g.document.createElement('div');
      d.className = 'tile';
      d.id = 'vt-' + id;
      el = g.document.createElement('video');
      el.id = 'v-' + id;
      el.autoplay = true;
      el.playsInline = true;
      el.style.width = '320px';
      var cap = g.document.createElement('div');
      cap.textContent = label;
      d.appendChild(el);
      d.appendChild(cap);
      box.appendChild(d);
    }
    return el;
  }
  function dropTile(id) {
    var d = g.document.getElementById('vt-' + id);
    if (d) { var v = d.querySelector('video'); if (v) { v.srcObject = null; } d.parentNode.removeChild(d); }
  }
  function newPeer(id, session, theirTransforms) {
    closePeer(id, false);
    var mode = supported && theirTransforms !== false ? (useScript ? 'script' : 'streams') : 'none';
    var conf = { iceServers: [] };
    if (mode === 'streams') { conf.encodedInsertableStreams = true; }
    var pc = new g.RTCPeerConnection(conf);
    var p = { id: id, sid: session, pc: pc, mode: mode, stream: new g.MediaStream(), ecdh: null, aes: null, last: null };
    peers[id] = p;
    pc.onicecandidate = function (e) { if (e.candidate) { sig(id, 'ice', { sid: session, candidate: e.candidate.toJSON() }); } };
    pc.oniceconnectionstatechange = function () {
      var s = pc.iceConnectionState;
      log('ice ' + id + ' ' + s);
      if ((s === 'connected' || s === 'completed') && !S.t.iceConnected) { S.t.iceConnected = Date.now(); }
      if (s === 'connected' || s === 'completed') { status('in meeting · media connected'); }
    };
    pc.ontrack = function (e) {
      attach(p, e.receiver, 'recv', e.track.kind);
      p.stream.addTrack(e.track);
      var el = tile(id, 'remote ' + id);
      if (el.srcObject !== p.stream) { el.srcObject = p.stream; }
      if (devices.output && el.setSinkId) { el.setSinkId(devices.output).catch(function () {}); }
      var pl = el.play();
      if (pl && pl.catch) { pl.catch(function (err) { S.error = S.error || ('play: ' + err.name); }); }
      if (el.requestVideoFrameCallback && !p.rvfc) {
        p.rvfc = true;
        el.requestVideoFrameCallback(function () { if (!S.t.firstFrame) { S.t.firstFrame = Date.now(); } });
      }
    };
    sendKey(p);
    var k = pendingKeys[id];
    delete pendingKeys[id];
    if (k && k.sid === session) { derive(p, k.pub); }
    return p;
  }
  function addLocal(p, offerer) {
    ['audio', 'video'].forEach(function (kind) {
      var track = local && local.getTracks().filter(function (t) { return t.kind === kind; })[0];
      var tr;
      if (offerer) {
        tr = track ? p.pc.addTransceiver(track, { direction: 'sendrecv', streams: [local] })
          : p.pc.addTransceiver(kind, { direction: 'recvonly' });
      } else {
        tr = p.pc.getTransceivers().filter(function (x) { return x.receiver.track && x.receiver.track.kind === kind; })[0];
        if (!tr) { return; }
        if (track) { tr.sender.replaceTrack(track); if (tr.sender.setStreams) { tr.sender.setStreams(local); } tr.direction = 'sendrecv'; } else { tr.direction = 'recvonly'; }
      }
      attach(p, tr.sender, 'send', kind);
      // The offerer's receivers exist before any frame arrives: attach now (ontrack is too late).
      attach(p, tr.receiver, 'recv', kind);
    });
  }
  function closePeer(id, bye) {
    var p = peers[id];
    if (!p) { return; }
    if (p.last) { Object.keys(closedTotals).forEach(function (k) { closedTotals[k] += p.last[k] || 0; }); }
    delete peers[id];
    if (bye) { sig(id, 'bye', { sid: p.sid }); }
    try { p.pc.close(); } catch (e) { /* closed */ }
    p.stream.getTracks().forEach(function (t) { t.stop(); });
    dropTile(id);
    log('closed peer ' + id);
  }
  function offerTo(id, hello) {
    var p = newPeer(id, sid(), hello.transforms);
    addLocal(p, true);
    return p.pc.createOffer().then(function (o) { return p.pc.setLocalDescription(o); }).then(function () {
      sig(id, 'offer', { sid: p.sid, sdp: p.pc.localDescription.toJSON(), transforms: supported });
    });
  }
  function onSignal(s) {
    var d = s.data || {}, from = s.from, p = peers[from];
    if (S.closed) { return null; }
    switch (s.kind) {
      case 'hello':
        if (cfg.moderator && !d.moderator) { return offerTo(from, d); }
        if (!cfg.moderator && d.moderator) { sig(from, 'hello', hello()); }
        return null;
      case 'offer':
        if (cfg.moderator) { return null; }
        Object.keys(peers).forEach(function (k) { if (k !== from) { closePeer(k, false); } });
        p = newPeer(from, d.sid, d.transforms);
        return p.pc.setRemoteDescription(d.sdp).then(function () {
          addLocal(p, false);
          return p.pc.createAnswer();
        }).then(function (a) { return p.pc.setLocalDescription(a); }).then(function () {
          sig(from, 'answer', { sid: p.sid, sdp: p.pc.localDescription.toJSON() });
        });
      case 'answer':
        return p && p.sid === d.sid ? p.pc.setRemoteDescription(d.sdp) : null;
      case 'ice':
        return p && p.sid === d.sid ? p.pc.addIceCandidate(d.candidate) : null;
      case 'e2ee-key':
        // The key may overtake the offer it belongs to: keep it for that session.
        if (p && p.sid === d.sid) { derive(p, d.pub); } else { pendingKeys[from] = d; }
        return null;
      case 'bye':
        if (p && p.sid === d.sid) { closePeer(from, false); }
        return null;
    }
    return null;
  }
  function hello() { return { moderator: !!cfg.moderator, transforms: supported }; }
  function pollSignals() {
    if (S.closed) { return; }
    api.http('GET', base + '/signal?peer=' + encodeURIComponent(cfg.localId) + '&since=' + sigSince +
      '&e2ee=' + (S.e2eeRoom ? 1 : 0) + '&wait_ms=20000', null, function (j) {
      if (!j) { setTimeout(pollSignals, 1000); return; }
      sigSince = Math.max(sigSince, (j.next || 1) - 1);
      if (!!j.e2ee !== S.e2eeRoom) { S.e2eeRoom = !!j.e2ee; log('room e2ee ' + S.e2eeRoom); e2eeFlags(); }
      (j.signals || []).forEach(function (s) {
        if (s.kind === 'denied') { stop('not admitted'); return; }
        chain = chain.then(function () { return onSignal(s); }).catch(function (e) { log(s.kind + ' failed: ' + e); });
      });
      pollSignals();
    });
  }

  // ---- local media --------------------------------------------------------------------------
  function constraints() {
    return {
      audio: devices.audio ? { deviceId: { exact: devices.audio } } : true,
      video: devices.video ? { deviceId: { exact: devices.video } } : true
    };
  }
  function startMedia() {
    if (!can || S.phase === 'media' || S.closed) { return; }
    S.phase = 'media';
    status(cfg.moderator ? 'in meeting' : 'in meeting (admitted)');
    nav.mediaDevices.getUserMedia(constraints()).then(function (ms) {
      local = ms;
      var el = tile('local', 'you');
      el.muted = true;
      el.srcObject = ms;
    }, function (e) {
      S.error = e.name || String(e);
      status('in meeting · no camera/microphone: ' + S.error);
      log('getUserMedia failed: ' + S.error);
    }).then(function () {
      readyResolve();
      sig('*', 'hello', hello());
    });
  }
  function replaceTrack(kind) {
    if (!local || S.closed) { return; }
    var c = {};
    c[kind] = constraints()[kind];
    nav.mediaDevices.getUserMedia(c).then(function (ms) {
      var nt = ms.getTracks()[0];
      local.getTracks().filter(function (t) { return t.kind === kind; }).forEach(function (t) { local.removeTrack(t); t.stop(); });
      local.addTrack(nt);
      Object.keys(peers).forEach(function (id) {
        peers[id].pc.getSenders().forEach(function (s) {
          if (s.track ? s.track.kind === kind : false) { s.replaceTrack(nt); }
        });
      });
      log(kind + ' device now ' + (nt.label || devices[kind]));
    }, function (e) { S.error = kind + ' device: ' + e.name; log(S.error); });
  }

  // ---- stats --------------------------------------------------------------------------------
  function e2eeStats() {
    var ctxs = worker ? workerCtxs : (g.SandboxE2EE ? g.SandboxE2EE.snapshot() : {});
    if (worker) { worker.postMessage({ type: 'stats' }); }
    var out = { supported: supported, on: false, encrypted: 0, decrypted: 0, failures: 0 };
    Object.keys(ctxs).forEach(function (k) {
      var c = ctxs[k];
      out.on = out.on || c.on;
      out.encrypted += c.encrypted; out.decrypted += c.decrypted; out.failures += c.failures;
    });
    out.room = S.e2eeRoom;
    return out;
  }
  function state() {
    if (S.closed) { return 'closed'; }
    if (!can) { return 'no-media'; }
    var ids = Object.keys(peers);
    if (ids.some(function (id) { var s = peers[id].pc.iceConnectionState; return s === 'connected' || s === 'completed'; })) { return 'connected'; }
    if (S.phase !== 'media' || (cfg.moderator && !ids.length)) { return 'waiting'; }
    return 'connecting';
  }
  function collect() {
    var tot = { framesDecoded: 0, framesReceived: 0, totalSamplesReceived: 0, framesEncoded: 0 };
    var level = null, ice = null;
    var ids = Object.keys(peers);
    return Promise.all(ids.map(function (id) {
      var p = peers[id];
      ice = p.pc.iceConnectionState;
      return p.pc.getStats().then(function (rep) {
        var v = { framesDecoded: 0, framesReceived: 0, totalSamplesReceived: 0, framesEncoded: 0 };
        rep.forEach(function (s) {
          if (s.type === 'inbound-rtp' && s.kind === 'video') { v.framesDecoded += s.framesDecoded || 0; v.framesReceived += s.framesReceived || 0; }
          if (s.type === 'inbound-rtp' && s.kind === 'audio') {
            v.totalSamplesReceived += s.totalSamplesReceived || 0;
            if (typeof s.audioLevel === 'number') { level = Math.max(level || 0, s.audioLevel); }
          }
          if (s.type === 'outbound-rtp' && s.kind === 'video') { v.framesEncoded += s.framesEncoded || 0; }
        });
        p.last = v;
      }).catch(function () {});
    })).then(function () {
      Object.keys(tot).forEach(function (k) {
        tot[k] = closedTotals[k] + ids.reduce(function (a, id) { return a + ((peers[id] && peers[id].last) ? peers[id].last[k] : 0); }, 0);
      });
      if (tot.framesDecoded > 0 && !S.t.firstFrame) { S.t.firstFrame = Date.now(); }
      var out = { id: cfg.localId, moderator: !!cfg.moderator, state: state(), iceState: ice, peers: ids,
        framesDecoded: tot.framesDecoded, framesReceived: tot.framesReceived, totalSamplesReceived: tot.totalSamplesReceived,
        audioLevel: level, framesEncoded: tot.framesEncoded, e2ee: e2eeStats(), error: S.error,
        localMedia: !!local, t: S.t };
      S.lastTotals = out;
      return out;
    });
  }
  function report() { collect().then(function (o) { if (!S.closed) { post('/media', o); } }); }

  // ---- lifecycle ----------------------------------------------------------------------------
  function stop(why) {
    if (S.closed) { return; }
    Object.keys(peers).forEach(function (id) { closePeer(id, true); });
    S.closed = true;
    if (timer) { clearInterval(timer); timer = null; }
    if (local) { local.getTracks().forEach(function (t) { t.stop(); }); }
    dropTile('local');
    status(why);
    log('media stopped: ' + why);
    var o = S.lastTotals || {};
    o.id = cfg.localId; o.moderator = !!cfg.moderator; o.state = 'closed'; o.iceState = 'closed'; o.peers = [];
    o.e2ee = e2eeStats(); o.error = S.error; o.t = S.t; o.reason = why;
    Object.keys(closedTotals).forEach(function (k) { o[k] = closedTotals[k]; });
    S.lastTotals = o;
    post('/media', o);
  }
  function admitted() {
    if (S.t.admitted || S.closed) { return; }
    S.t.admitted = Date.now();
    startMedia();
  }
  function enter() {
    var jwt = (g.location.search.match(/[?&]jwt=([^&]*)/) || [])[1] || '';
    api.http('POST', base + '/presence', JSON.stringify({ jwt: decodeURIComponent(jwt), action: 'enter' }), function (j) {
      S.t.joined = Date.now();
      if (!j) { status('could not enter the room'); S.error = S.error || 'presence failed'; return; }
      if (j.state === 'knocking') {
        S.phase = 'lobby';
        status('waiting for the host to let you in');
      } else {
        admitted();
      }
    });
    g.addEventListener('pagehide', function () {
      beacon('/presence', { jwt: decodeURIComponent(jwt), action: 'leave' });
    });
  }

  var M = {
    /** Called by the meeting page after its own start-up; api = {http, log, setState}. */
    init: function (c, a) {
      cfg = c; api = a;
      base = '/_sandbox/jitsi/' + encodeURIComponent(cfg.room);
      sigSince = cfg.signalSince || 0;
      ready = new Promise(function (r) { readyResolve = r; });
      chain = ready;
      if (useScript) {
        try {
          worker = new g.Worker('/_sandbox/jitsi/e2ee-worker.js');
          worker.onmessage = function (e) { if (e.data && e.data.type === 'stats') { workerCtxs = e.data.ctxs; } };
        } catch (e) { worker = null; useScript = false; supported = useStreams; }
      }
      if (cfg.moderator) { S.t.joined = Date.now(); }
      if (can) {
        pollSignals();
        timer = setInterval(report, 1000);
        g.addEventListener('pagehide', function () {
          Object.keys(peers).forEach(function (id) { var p = peers[id]; beacon('/signal', { from: cfg.localId, to: id, kind: 'bye', data: { sid: p.sid } }); });
          var o = S.lastTotals || { id: cfg.localId, moderator: !!cfg.moderator };
          o.state = 'closed';
          beacon('/media', o);
        });
      } else {
        post('/media', { id: cfg.localId, moderator: !!cfg.moderator, state: 'no-media', iceState: null, framesDecoded: 0, framesReceived: 0,
          totalSamplesReceived: 0, audioLevel: null, framesEncoded: 0,
          e2ee: { supported: false, on: false, encrypted: 0, decrypted: 0, failures: 0 }, error: 'no WebRTC in this browser', t: S.t });
      }
      if (cfg.moderator) { startMedia(); } else { enter(); }
    },
    /** Every event the page relays from the feed. */
    onEvent: function (name, data) {
      if (!cfg || S.closed) { return; }
      data = data || {};
      if (name === 'participantJoined' && data.id === cfg.localId && !cfg.moderator) { admitted(); }
      if (name === 'participantKickedOut' && data.kicked && data.kicked.id === cfg.localId) { stop('removed from the meeting'); }
      if (name === 'participantLeft') {
        if (data.id === cfg.localId) { stop('left the meeting'); } else { closePeer(data.id, false); }
      }
      if (name === 'videoConferenceLeft' || name === 'readyToClose') { stop('meeting ended'); }
    },
    /** Every command the embedding app executed (besides being sent to the server). */
    command: function (name, args) {
      args = args || [];
      var kinds = { setVideoInputDevice: 'videoinput', setAudioInputDevice: 'audioinput', setAudioOutputDevice: 'audiooutput' };
      if (!kinds[name] || !can) { return; }
      // Jitsi's (label, deviceId): the id wins; a label alone is looked up.
      var found = args[1] ? Promise.resolve(args[1]) : nav.mediaDevices.enumerateDevices().then(function (ds) {
        var d = ds.filter(function (x) { return x.kind === kinds[name] && x.label === args[0]; })[0];
        return d ? d.deviceId : null;
      });
      found.then(function (id) {
        if (!id) { S.error = name + ': no device ' + args[0]; return; }
        M.device(name, id);
      });
    },
    device: function (name, id) {
      if (name === 'setVideoInputDevice') { devices.video = id; replaceTrack('video'); }
      if (name === 'setAudioInputDevice') { devices.audio = id; replaceTrack('audio'); }
      if (name === 'setAudioOutputDevice') {
        devices.output = id;
        Array.prototype.forEach.call(g.document.querySelectorAll('#media video'), function (el) {
          if (el.id !== 'v-local' && el.setSinkId) { el.setSinkId(id).catch(function (e) { S.error = 'output device: ' + e.name; }); }
        });
      }
    },
    stats: function () { return cfg ? collect() : Promise.resolve(null); }
  };
  g.SandboxMedia = M;
  g.sandboxMedia = function () { return S.closed ? Promise.resolve(S.lastTotals) : M.stats(); };
})(window);
