/*
 * Rounds sandbox clinic: JitsiMeetExternalAPI stand-in.
 * Same public surface as Jitsi Meet's external_api.js for the calls Rounds uses
 * (constructor(domain, options), addListener/on/removeListener/off, addEventListeners,
 * executeCommand/executeCommands, getRoomsInfo, getParticipantsInfo, getIFrame, dispose).
 * The iframe is the sandbox meeting page; events arrive from it via postMessage.
 */
(function (global) {
  'use strict';
  var nextId = 0;

  function dim(v) {
    if (typeof v === 'number') { return v + 'px'; }
    return v || '100%';
  }

  function JitsiMeetExternalAPI(domain, options) {
    if (!(this instanceof JitsiMeetExternalAPI)) { throw new Error('use new JitsiMeetExternalAPI()'); }
    if (typeof options !== 'object' || options === null) {
      // Legacy positional form: (domain, roomName, width, height, parentNode, configOverwrite, interfaceConfigOverwrite, noSSL, jwt)
      var a = arguments;
      options = { roomName: a[1], width: a[2], height: a[3], parentNode: a[4], configOverwrite: a[5],
                  interfaceConfigOverwrite: a[6], jwt: a[8] };
    }
    this._id = nextId++;
    this._domain = domain;
    this._roomName = options.roomName || '';
    this._listeners = {};
    this._participants = {};
    this._myId = null;
    this._disposed = false;
    var hash = ['jitsi_meet_external_api_id=' + this._id];
    var ui = options.userInfo || {};
    Object.keys(ui).forEach(function (k) { hash.push('userInfo.' + k + '=' + encodeURIComponent(JSON.stringify(ui[k]))); });
    var co = options.configOverwrite || {};
    Object.keys(co).forEach(function (k) { hash.push('config.' + k + '=' + encodeURIComponent(JSON.stringify(co[k]))); });
    var io = options.interfaceConfigOverwrite || {};
    Object.keys(io).forEach(function (k) { hash.push('interfaceConfig.' + k + '=' + encodeURIComponent(JSON.stringify(io[k]))); });
    if (options.lang) { hash.push('lang=' + encodeURIComponent(JSON.stringify(options.lang))); }
    var src = 'https://' + domain + '/' + encodeURIComponent(this._roomName) +
      (options.jwt ? '?jwt=' + encodeURIComponent(options.jwt) : '') + '#' + hash.join('&');
    var frame = document.createElement('iframe');
    frame.name = frame.id = 'jitsiConferenceFrame' + this._id;
    frame.allow = 'camera; microphone; display-capture; autoplay; clipboard-write';
    frame.setAttribute('allowfullscreen', 'true');
    frame.style.border = '0';
    frame.style.width = dim(options.width);
    frame.style.height = dim(options.height);
    frame.src = src;
    this._frame = frame;
    this._origin = 'https://' + domain;
    (options.parentNode || document.body).appendChild(frame);
    var self = this;
    this._onMessage = function (e) {
      if (self._disposed || e.source !== frame.contentWindow) { return; }
      var d = e.data;
      if (!d || d.sandboxJitsi !== true || typeof d.event !== 'string') { return; }
      self._handle(d.event, d.data || {});
    };
    global.addEventListener('message', this._onMessage);
  }

  var P = JitsiMeetExternalAPI.prototype;

  P._handle = function (name, data) {
    switch (name) {
      case 'videoConferenceJoined':
        this._myId = data.id;
        this._participants[data.id] = { participantId: data.id, displayName: data.displayName, avatarUrl: data.avatarURL, role: 'participant' };
        break;
      case 'participantJoined':
        this._participants[data.id] = { participantId: data.id, displayName: data.displayName, role: 'participant' };
        break;
      case 'participantLeft':
        delete this._participants[data.id];
        break;
      case 'participantRoleChanged':
        if (this._participants[data.id]) { this._participants[data.id].role = data.role; }
        break;
      case 'videoConferenceLeft':
        this._participants = {};
        break;
    }
    this._emit(name, data);
  };

  P._emit = function (name, data) {
    var ls = (this._listeners[name] || []).slice();
    for (var i = 0; i < ls.length; i++) {
      try { ls[i].call(this, data); } catch (err) { setTimeout(function () { throw err; }); }
    }
  };

  P.addListener = P.on = function (name, fn) {
    (this._listeners[name] = this._listeners[name] || []).push(fn);
    return this;
  };
  P.removeListener = P.off = function (name, fn) {
    var ls = this._listeners[name] || [];
    var i = ls.indexOf(fn);
    if (i >= 0) { ls.splice(i, 1); }
    return this;
  };
  P.addEventListener = P.addListener;
  P.removeEventListener = P.removeListener;
  P.addEventListeners = function (map) {
    for (var k in map) { if (Object.prototype.hasOwnProperty.call(map, k)) { this.addListener(k, map[k]); } }
  };
  P.removeAllListeners = function (name) {
    if (name) { delete this._listeners[name]; } else { this._listeners = {}; }
    return this;
  };

  P.executeCommand = function (name) {
    if (this._disposed || !this._frame.contentWindow) { return; }
    var args = Array.prototype.slice.call(arguments, 1);
    this._frame.contentWindow.postMessage({ sandboxJitsi: true, command: name, args: args }, this._origin);
  };
  P.executeCommands = function (map) {
    for (var k in map) { if (Object.prototype.hasOwnProperty.call(map, k)) { this.executeCommand.apply(this, [k].concat(map[k])); } }
  };

  P.getParticipantsInfo = function () {
    var ps = this._participants;
    return Object.keys(ps).map(function (k) { return ps[k]; });
  };
  P.getNumberOfParticipants = function () { return this.getParticipantsInfo().length; };
  P.getRoomsInfo = function () {
    var self = this;
    return Promise.resolve({ rooms: [{ isMainRoom: true, id: self._roomName,
      jid: self._roomName + '@conference.' + self._domain,
      participants: self.getParticipantsInfo().map(function (p) {
        return { id: p.participantId, jid: self._roomName + '@conference.' + self._domain + '/' + p.participantId,
                 role: p.role, displayName: p.displayName };
      }) }] });
  };
  P.getIFrame = function () { return this._frame; };
  P.isAudioMuted = function () { return Promise.resolve(false); };
  P.isVideoMuted = function () { return Promise.resolve(false); };
  P.dispose = function () {
    if (this._disposed) { return; }
    this._disposed = true;
    global.removeEventListener('message', this._onMessage);
    if (this._frame && this._frame.parentNode) { this._frame.parentNode.removeChild(this._frame); }
    this._listeners = {};
  };

  global.JitsiMeetExternalAPI = JitsiMeetExternalAPI;
})(window);
