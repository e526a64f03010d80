// The recorded scenarios: two RTCPeerConnections in this page, wired in-page, one scenario per load.
'use strict';

const MEDIA = { audio: true, video: { width: 160, height: 120, frameRate: 10 } };
const mark = (what) => Rec.note('-', 'mark', { what });

// Two pcs a (offerer) and b; a makes a data channel; media on both when asked.
async function setup(opts) {
  opts = opts || {};
  const a = Rec.addPc('a', opts.config);
  const b = Rec.addPc('b', opts.config);
  Sig.wire('a', 'b', opts.policy, opts.endOfCandidates);
  Sig.wire('b', 'a', opts.policy, opts.endOfCandidates);
  if (opts.media) {
    for (const pc of [a, b]) {
      const stream = await navigator.mediaDevices.getUserMedia(MEDIA);
      for (const track of stream.getTracks()) pc.addTrack(track, stream);
    }
  }
  a.createDataChannel('data');
  Rec.scanAll();
  return { a, b };
}

// Replaces the first byte of every certificate fingerprint: DTLS must fail verifying it.
function breakFingerprint(sdp) {
  return sdp.replace(/(a=fingerprint:\S+ )([0-9A-Fa-f]{2})/g,
    (m, head, byte) => head + (byte.toUpperCase() === 'AA' ? 'BB' : 'AA'));
}

const withoutBundle = (sdp) => sdp.split('\r\n').filter((l) => !l.startsWith('a=group:BUNDLE')).join('\r\n');

// The candidate's port replaced by one nothing listens on in the namespace (above 1024: Chromium
// ignores remote candidates on most lower ports; below the ephemeral range the browsers bind).
const DEAD_PORT = '10009';
function deadPort(c) {
  const f = c.candidate.split(' ');
  f[5] = DEAD_PORT;
  return { deliver: true, candidate: { candidate: f.join(' '), sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } };
}

async function connected(ms) {
  const ok = await until(both('connected'), ms || 10000);
  mark(ok ? 'both connected' : 'not connected in time');
  return ok;
}

// A live call with media, the UDP path lost for lossMs, then restored.
async function lossScenario(lossMs, afterMs) {
  await setup({ media: true });
  await Sig.negotiate('a', 'b');
  if (!(await connected())) return;
  await sleep(3000);
  await loss(true);
  await sleep(lossMs);
  await loss(false);
  const back = await until(both('connected'), afterMs);
  mark(back ? 'both connected again' : 'not connected again in time');
  if (back) await sleep(2000);
}

// name -> [run, bound on the whole scenario in ms]
const SCENARIOS = {
  'datachannel': [async () => {
    await setup();
    await Sig.negotiate('a', 'b');
    if (await connected()) await sleep(3000);
  }, 20000],

  'bundled': [async () => {
    await setup({ media: true });
    await Sig.negotiate('a', 'b');
    if (await connected()) await sleep(3000);
  }, 25000],

  // max-compat: one transport per m-section; the offer's BUNDLE group removed, so the answer
  // bundles nothing; each m-section's candidates delivered 1.5 s after the previous one's.
  'unbundled': [async () => {
    await setup({
      media: true,
      config: { bundlePolicy: 'max-compat' },
      policy: (c) => ({ delayMs: 1500 * (c.sdpMLineIndex || 0) }),
    });
    await Sig.negotiate('a', 'b', { mungeOffer: withoutBundle });
    if (await connected(15000)) await sleep(2000);
  }, 30000],

  // b closes; a learns it from the wire (DTLS close_notify, then silence).
  'remote-close': [async () => {
    await setup();
    await Sig.negotiate('a', 'b');
    if (!(await connected())) return;
    await sleep(1000);
    Rec.closePc('b');
    await until(() => Rec.pcs.a.connectionState === 'failed', 35000);
    await sleep(1000);
  }, 45000],

  // a closes: no event on a (W3C); the states read closed.
  'local-close': [async () => {
    await setup();
    await Sig.negotiate('a', 'b');
    if (!(await connected())) return;
    await sleep(1000);
    Rec.closePc('a');
    await sleep(3000);
  }, 20000],

  // a's view of b's certificate fingerprint is wrong: a's DTLS handshake fails.
  'dtls-failure': [async () => {
    await setup();
    await Sig.negotiate('a', 'b', { mungeAnswer: breakFingerprint });
    await until(() => Rec.pcs.a.connectionState === 'failed' &&
      ['failed', 'closed'].includes(Rec.pcs.b.connectionState), 15000);
    await sleep(2000);
  }, 30000],

  // Every candidate points at a dead port: the checks never succeed.
  'ice-failure': [async () => {
    await setup({ policy: deadPort });
    await Sig.negotiate('a', 'b');
    await until(both('failed'), 45000);
    await sleep(1000);
  }, 55000],

  // No candidate is ever delivered to either side.
  'no-remote-candidate': [async () => {
    await setup({ policy: () => ({ deliver: false }) });
    await Sig.negotiate('a', 'b');
    await sleep(10000);
  }, 20000],

  'loss-8s': [() => lossScenario(8000, 20000), 45000],
  'loss-40s': [() => lossScenario(40000, 15000), 80000],

  // restartIce() on a healthy call with media, renegotiated at once.
  'ice-restart': [async () => {
    await setup({ media: true });
    await Sig.negotiate('a', 'b');
    if (!(await connected())) return;
    await sleep(2000);
    mark('restartIce');
    Rec.pcs.a.restartIce();
    await Sig.negotiate('a', 'b');
    await sleep(6000);
  }, 30000],

  // Both sides signal the end of their candidates (addIceCandidate() with no candidate).
  'end-of-candidates': [async () => {
    await setup({ endOfCandidates: true });
    await Sig.negotiate('a', 'b');
    if (await connected()) await sleep(4000);
  }, 20000],
};

async function main() {
  const status = document.getElementById('status');
  const name = new URLSearchParams(location.search).get('scenario');
  const entry = SCENARIOS[name];
  const result = { scenario: name, userAgent: navigator.userAgent, started: Rec.now() };
  if (!entry) {
    result.error = `unknown scenario ${name}`;
  } else {
    const [run, bound] = entry;
    status.textContent = `running ${name}`;
    let timer;
    const watchdog = new Promise((r) => { timer = setTimeout(() => r('timeout'), bound); });
    try {
      const how = await Promise.race([run().then(() => 'done'), watchdog]);
      result.outcome = how;
    } catch (err) {
      result.outcome = 'error';
      result.error = String(err && err.stack || err);
    }
    clearTimeout(timer);
  }
  Rec.scanAll();
  result.ended = Rec.now();
  result.features = Rec.features;
  result.final = Rec.snapshot();
  result.log = Rec.log;
  await post('/result', result);
  status.textContent = 'posted';
  for (const pc of Object.values(Rec.pcs)) pc.close();
}

main();
