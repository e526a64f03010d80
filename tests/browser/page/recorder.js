// In-page recording: every pc-level and per-transport state change, timestamped, with a snapshot.
'use strict';

const Rec = (() => {
  const log = [];
  const pcs = {};            // name -> RTCPeerConnection
  const known = {};          // name -> Map(RTCDtlsTransport -> {id, dtls, ice})
  const nextId = {};         // name -> next transport id (1, 2, ... per pc, never reused)
  const closed = {};         // name -> true once the page called close()
  const features = {};

  const now = () => performance.now();

  function transportStates(name) {
    return [...known[name].values()].map((t) => ({
      id: t.id,
      ice: t.ice ? t.ice.state : null,
      dtls: t.dtls.state,
      gathering: t.ice ? t.ice.gatheringState : null,
    }));
  }

  function snapshot() {
    const s = {};
    for (const [name, pc] of Object.entries(pcs)) {
      s[name] = {
        connectionState: pc.connectionState,
        iceConnectionState: pc.iceConnectionState,
        iceGatheringState: pc.iceGatheringState,
        signalingState: pc.signalingState,
        transports: transportStates(name),
      };
    }
    return s;
  }

  // One log entry: time (ms, performance.now()), the pc, the kind, details, and every state now.
  function record(pc, type, extra) {
    const entry = Object.assign({ t: now(), pc, type }, extra || {});
    entry.snapshot = snapshot();
    log.push(entry);
    return entry;
  }

  // A note without a snapshot (candidates, signalling steps, scenario marks).
  function note(pc, type, extra) {
    log.push(Object.assign({ t: now(), pc, type }, extra || {}));
  }

  // The RTCDtlsTransports the pc uses now: senders', receivers' and the SCTP transport's.
  function currentTransports(pc) {
    const set = new Set();
    if (pc.signalingState === 'closed' && !pc.getTransceivers) return set;
    for (const tr of pc.getTransceivers()) {
      if (tr.sender && tr.sender.transport) set.add(tr.sender.transport);
      if (tr.receiver && tr.receiver.transport) set.add(tr.receiver.transport);
    }
    if (pc.sctp && pc.sctp.transport) set.add(pc.sctp.transport);
    return set;
  }

  function attach(name, dtls) {
    const ice = dtls.iceTransport || null;
    const t = { id: nextId[name]++, dtls, ice };
    known[name].set(dtls, t);
    features.iceTransport = features.iceTransport || !!ice;
    features.iceOnGatheringStateChange = ice ? 'ongatheringstatechange' in ice : false;
    features.iceOnStateChange = ice ? 'onstatechange' in ice : false;
    const mine = () => known[name].get(dtls) === t;
    dtls.onstatechange = () => { if (mine()) record(name, 'dtls', { id: t.id, value: dtls.state }); };
    dtls.onerror = (e) => {
      if (mine()) note(name, 'dtls-error', { id: t.id, message: String(e && (e.error || e.message) || e) });
    };
    if (ice) {
      ice.onstatechange = () => { if (mine()) record(name, 'ice', { id: t.id, value: ice.state }); };
      ice.ongatheringstatechange = () => {
        if (mine()) record(name, 'gathering', { id: t.id, value: ice.gatheringState });
      };
    }
    record(name, 'transport-add', {
      id: t.id,
      ice: ice ? ice.state : null,
      dtls: dtls.state,
      gathering: ice ? ice.gatheringState : null,
    });
  }

  // Finds transports that appeared or went away since the last look; logs each as it is found.
  function scan(name) {
    if (closed[name]) return;
    const cur = currentTransports(pcs[name]);
    for (const [dtls, t] of [...known[name].entries()]) {
      if (!cur.has(dtls)) {
        known[name].delete(dtls);
        dtls.onstatechange = null;
        if (t.ice) { t.ice.onstatechange = null; t.ice.ongatheringstatechange = null; }
        record(name, 'transport-remove', { id: t.id });
      }
    }
    for (const dtls of cur) if (!known[name].has(dtls)) attach(name, dtls);
  }

  function scanAll() { for (const name of Object.keys(pcs)) scan(name); }

  function addPc(name, config) {
    const pc = new RTCPeerConnection(config);
    pcs[name] = pc;
    known[name] = new Map();
    nextId[name] = 1;
    for (const ev of ['connectionstatechange', 'iceconnectionstatechange', 'icegatheringstatechange']) {
      pc.addEventListener(ev, () => {
        scan(name);
        const value = ev === 'connectionstatechange' ? pc.connectionState
          : ev === 'iceconnectionstatechange' ? pc.iceConnectionState : pc.iceGatheringState;
        record(name, 'pc', { event: ev, value });
      });
    }
    pc.addEventListener('signalingstatechange', () => { scan(name); note(name, 'signaling', { value: pc.signalingState }); });
    record(name, 'pc-created', { config: config || {} });
    return pc;
  }

  // close() fires no event (W3C); the log says when it was called and what the states read after.
  function closePc(name) {
    pcs[name].close();
    record(name, 'close', {});
    closed[name] = true;
  }

  return { log, pcs, features, now, record, note, scan, scanAll, addPc, closePc, snapshot };
})();

// ---- signalling (in-page) ---------------------------------------------------------------------

const Sig = (() => {
  const remoteReady = {};    // name -> Promise resolved once a remote description is set
  const resolveReady = {};

  function reset(name) {
    remoteReady[name] = new Promise((r) => { resolveReady[name] = r; });
  }

  const stripCandidates = (sdp) =>
    sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates').join('\r\n');

  // offer/answer from `from` to `to`; the munge functions may edit either SDP on its way.
  async function negotiate(from, to, opts) {
    opts = opts || {};
    const a = Rec.pcs[from];
    const b = Rec.pcs[to];
    const offer = await a.createOffer(opts.offerOptions || {});
    await a.setLocalDescription(offer);
    Rec.scanAll();
    let sdp = stripCandidates(offer.sdp);
    if (opts.mungeOffer) sdp = opts.mungeOffer(sdp);
    Rec.note(to, 'signal', { what: 'setRemoteDescription(offer)' });
    await b.setRemoteDescription({ type: 'offer', sdp });
    resolveReady[to]();
    Rec.scanAll();
    const answer = await b.createAnswer();
    await b.setLocalDescription(answer);
    Rec.scanAll();
    let asdp = stripCandidates(answer.sdp);
    if (opts.mungeAnswer) asdp = opts.mungeAnswer(asdp);
    Rec.note(from, 'signal', { what: 'setRemoteDescription(answer)' });
    await a.setRemoteDescription({ type: 'answer', sdp: asdp });
    resolveReady[from]();
    Rec.scanAll();
  }

  // Candidates of `from` go to `to` through `policy(cand, from)`, which returns what to deliver:
  // {deliver: false} to drop, {delayMs}, {candidate} to replace. End-of-candidates (the null
  // candidate) is delivered only when endOfCandidates is set.
  function wire(from, to, policy, endOfCandidates) {
    reset(to);
    Rec.pcs[from].addEventListener('icecandidate', async (e) => {
      const c = e.candidate;
      Rec.note(from, 'candidate', c ? { candidate: c.candidate, sdpMid: c.sdpMid } : { candidate: null });
      if (!c || !c.candidate) {
        if (!endOfCandidates || c) return;
        await remoteReady[to];
        if (Rec.pcs[to].signalingState === 'closed') return;
        try {
          await Rec.pcs[to].addIceCandidate();
          Rec.note(to, 'remote-end-of-candidates', {});
        } catch (err) {
          Rec.note(to, 'addIceCandidate-error', { message: String(err) });
        }
        return;
      }
      const d = policy ? policy(c, from) : {};
      if (d.deliver === false) return;
      if (d.delayMs) await new Promise((r) => setTimeout(r, d.delayMs));
      await remoteReady[to];
      if (Rec.pcs[to].signalingState === 'closed') return;
      const init = d.candidate || { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
      try {
        await Rec.pcs[to].addIceCandidate(init);
        Rec.note(to, 'remote-candidate', { candidate: init.candidate, sdpMid: init.sdpMid });
      } catch (err) {
        Rec.note(to, 'addIceCandidate-error', { message: String(err), candidate: init.candidate });
      }
    });
  }

  return { negotiate, wire, reset, stripCandidates };
})();

// ---- control of the recorder (loss rules) and results -----------------------------------------

async function post(path, body) {
  const r = await fetch(path, { method: 'POST', body: JSON.stringify(body || {}) });
  return r.json();
}

// Asks the server to apply (on) or remove (off) the UDP loss rule; logs the page's clock before the
// request and after the reply: the rule took effect between the two.
async function loss(on) {
  const before = Rec.now();
  const reply = await post('/control', { loss: on });
  const after = Rec.now();
  // The rule took effect in [earliest, latest] on this clock (while nft ran, after the request
  // left, before the reply was sent); `at` is the middle.
  const earliest = before;
  const latest = Math.max(after - reply.reply_after_ms, earliest);
  const at = (earliest + latest) / 2;
  Rec.note('-', on ? 'loss-start' : 'loss-end', { at, earliest, latest, before, after, reply });
  return after;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Resolves once cond() holds (checked on every logged change and every 20 ms), or after ms.
async function until(cond, ms) {
  const end = Rec.now() + ms;
  while (Rec.now() < end) {
    Rec.scanAll();
    if (cond()) return true;
    await sleep(20);
  }
  return false;
}

const both = (state) => () => Object.values(Rec.pcs).every((pc) => pc.connectionState === state);
const any = (state) => () => Object.values(Rec.pcs).some((pc) => pc.connectionState === state);
