// Drives external_api.js + the meeting page in jsdom against a running sandbox:
//   node jitsi_smoke.cjs '<ready JSON line>'   (NODE_EXTRA_CA_CERTS=<ca.pem>)
// Run by tests/jitsi_js.rs; prints "OK" on success.
const { JSDOM } = require('jsdom');
const info = JSON.parse(process.argv[2]);
const https = require('https');
const ca = require('fs').readFileSync(info.ca_pem);
function req(method, url, body, token) {
  return new Promise((res, rej) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : require('http');
    const headers = {};
    if (body !== undefined) headers['content-type'] = typeof body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json';
    if (token) headers['authorization'] = 'Bearer ' + token;
    const r = mod.request(u, { method, headers, ca }, (resp) => { let d = ''; resp.on('data', c => d += c); resp.on('end', () => res(JSON.parse(d))); });
    r.on('error', rej);
    if (body !== undefined) r.write(typeof body === 'string' ? body : JSON.stringify(body));
    r.end();
  });
}
(async () => {
  const tok = await req('POST', info.base_url + '/oauth2/default/token', 'grant_type=password&client_id=rounds-demo&client_secret=rounds-demo-secret&user_role=users&username=drnomfa&password=' + encodeURIComponent('Sandbox-Clinic-2026!') + '&scope=api:fhir%20user/Appointment.read');
  // add drnomfa to a joinable visit: use control to create one
  const users = await req('GET', info.control_url + '/control/users');
  const me = users.users.find(u => u.username === 'drnomfa');
  const start = new Date(Date.now() + 60000).toISOString().replace(/\.\d+Z$/, 'Z');
  const end = new Date(Date.now() + 1860000).toISOString().replace(/\.\d+Z$/, 'Z');
  const made = await req('POST', info.control_url + '/control/appointments', { resourceType: 'Appointment', status: 'booked', start, end,
    participant: [{ actor: { reference: me.fhir_ref }, status: 'accepted' }] });
  const join = await req('POST', info.base_url + '/apis/default/clinic/telehealth/' + made.ids[0] + '/join', {}, tok.access_token);
  console.log('join', join.room, join.domain);
  const dom = new JSDOM('<!doctype html><div id="meet"></div>', { url: 'https://127.0.0.1/', runScripts: 'dangerously', resources: 'usable', pretendToBeVisual: true });
  // jsdom's resource loader does not take a CA; NODE_EXTRA_CA_CERTS covers it.
  const w = dom.window;
  const s = w.document.createElement('script');
  s.src = 'https://' + join.domain + '/external_api.js';
  await new Promise((res, rej) => { s.onload = res; s.onerror = rej; w.document.head.appendChild(s); });
  const api = new w.JitsiMeetExternalAPI(join.domain, { roomName: join.room, jwt: join.jwt, parentNode: w.document.getElementById('meet'), userInfo: { displayName: 'Dr N' } });
  // jsdom's postMessage sets no event.source; browsers do. Stand in for that here only.
  const frame = w.document.querySelector('iframe');
  w.postMessage = (data) => w.dispatchEvent(new w.MessageEvent('message', { data, source: frame.contentWindow, origin: 'https://' + join.domain }));
  const seen = [];
  ['videoConferenceJoined', 'participantRoleChanged', 'knockingParticipant', 'participantJoined', 'participantLeft', 'videoConferenceLeft', 'readyToClose', 'errorOccurred']
    .forEach(n => api.addListener(n, d => { seen.push(n); console.log('event', n, JSON.stringify(d)); }));
  const wait = (n) => new Promise((res, rej) => { const t0 = Date.now(); const i = setInterval(() => { if (seen.includes(n)) { clearInterval(i); res(); } else if (Date.now() - t0 > 8000) { clearInterval(i); rej(new Error('timeout ' + n + ' seen=' + seen)); } }, 50); });
  await wait('videoConferenceJoined');
  await req('POST', info.control_url + '/control/jitsi/rooms/' + join.room + '/knock', { id: 'p9', name: 'Pat Ient' });
  await wait('knockingParticipant');
  api.executeCommand('answerKnockingParticipant', 'p9', true);
  await wait('participantJoined');
  const rooms = await api.getRoomsInfo();
  console.log('rooms', JSON.stringify(rooms.rooms[0].participants.map(p => [p.id, p.role])));
  api.executeCommand('hangup');
  await wait('readyToClose');
  api.dispose();
  console.log('iframes left', w.document.querySelectorAll('iframe').length);
  const room = await req('GET', info.control_url + '/control/jitsi/rooms/' + join.room);
  const cmds = room.commands.map(c => c.name);
  console.log('commands', JSON.stringify(cmds));
  const want = ['videoConferenceJoined', 'participantRoleChanged', 'knockingParticipant', 'participantJoined', 'videoConferenceLeft', 'readyToClose'];
  if (want.join() !== seen.join() || cmds.join() !== 'answerKnockingParticipant,hangup' || w.document.querySelectorAll('iframe').length !== 0
      || rooms.rooms[0].participants.length !== 2) {
    throw new Error('unexpected: ' + seen.join());
  }
  console.log('OK');
  process.exit(0);
})().catch(e => { console.error('FAIL', e); process.exit(1); });
