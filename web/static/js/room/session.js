// A participant's side of a video room, as docs/signaling.md describes it: a join token from the case API, the
// signalling WebSocket, two PeerConnections (publisher: we offer; subscriber: the server offers), trickle ICE
// both ways, the room's events kept as state, and reconnection with the resume token within the server's 30 s
// grace. It draws nothing: the room page listens (on) and renders from the fields.

import { Signal, SignalError } from './signal.js';

const GRACE_MS = 30000;

// statuses a session moves through; the last four are final.
export const FINAL = new Set(['ended', 'removed', 'replaced', 'left', 'failed']);

// parseMids reads, per m-section of an SDP, its mid, direction and msid (stream id and track id).
export function parseMids(sdp) {
  const out = new Map();
  let cur = null;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      cur = { kind: line.slice(2, line.indexOf(' ')), direction: 'sendrecv', stream: '', track: '' };
    } else if (cur && line.startsWith('a=mid:')) {
      out.set(line.slice(6).trim(), cur);
    } else if (cur && line.startsWith('a=msid:')) {
      const [stream, track] = line.slice(7).trim().split(/\s+/);
      cur.stream = stream;
      cur.track = track || '';
    } else if (cur && /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line.trim())) {
      cur.direction = line.trim().slice(2);
    }
  }
  return out;
}

// decodableCodecs lists the room video codecs this browser can receive (declared in join).
export function decodableCodecs() {
  try {
    const caps = RTCRtpReceiver.getCapabilities && RTCRtpReceiver.getCapabilities('video');
    if (!caps) return undefined;
    const out = [];
    if (caps.codecs.some((c) => /vp8/i.test(c.mimeType))) out.push('VP8');
    if (caps.codecs.some((c) => /h264/i.test(c.mimeType))) out.push('H264');
    return out.length ? out : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// simulcastLayers chooses the layers a camera track is sent in (docs/signaling.md §11): three where the camera
// delivers 540 lines or more, two (the top one dropped) on small phones or from a 360-line camera, one below.
// Each layer is {rid, scale, width, height, maxBitrate}, lowest first, as offer.tracks[].layers declares them.
export function simulcastLayers(width, height, smallScreen) {
  const w = width || 640;
  const hgt = height || 480;
  let scales = hgt >= 540 ? [4, 2, 1] : hgt >= 270 ? [2, 1] : [1];
  if (smallScreen && scales.length === 3) scales = [4, 2]; // a small phone: no full-size layer
  const rids = ['q', 'h', 'f'];
  const rates = [150000, 500000, 1200000];
  return scales.map((sc, i) => ({ rid: rids[i], scale: sc, width: Math.round(w / sc), height: Math.round(hgt / sc), maxBitrate: rates[i] }));
}

// smallScreen: a phone held upright (its short side under 480 CSS pixels) or data-saver mode.
function smallScreen() {
  try {
    return Math.min(screen.width, screen.height) < 480 || (navigator.connection && navigator.connection.saveData) || localStorage.getItem('parley.datasaver') === '1';
  } catch {
    return false;
  }
}

export class RoomSession {
  // getJoin() asks the case API for a join answer ({token, url, case_id, session_id, ice_servers, …});
  // local is the LocalMedia to publish (or null to take part by text only).
  // mode is how we take part (docs/signaling.md §5.1): 'video', 'voice' (microphone only) or 'text'.
  constructor({ getJoin, local, mode }) {
    this.getJoin = getJoin;
    this.local = local;
    this.mode = mode || (local ? (local.video ? 'video' : 'voice') : 'text');
    this.preview = false; // waiting with a lobby preview: publishing to the mediators only
    this.paused = new Set(); // room track ids paused for our bandwidth (video_paused)
    this.layers = [];
    this.listeners = new Set();
    this.status = 'idle';
    this.error = null;
    this.endReason = '';
    this.join = null;
    this.self = null;
    this.resume = '';
    this.participants = new Map();
    this.tracks = new Map();
    this.caucuses = [];
    this.scope = '';
    this.privateSession = false;
    this.judgePresent = false;
    this.videoCodec = '';
    this.lobby = [];
    this.speaker = '';
    this.quality = new Map();
    this.chat = [];
    this.remote = new Map(); // participant id → {audio, video} receiver tracks
    this.moderatedBy = null;
    // Times (performance.now()) for join → first frame: start of the join, arrival of joined (after the lobby
    // for parties), first remote frame; and after a reconnect, when it rejoined and its first frame.
    this.metrics = { start: 0, joined: 0, firstFrame: 0, lobby: false, resumed: 0, resumedFrame: 0 };
    this.sig = null;
    this.pub = null;
    this.sub = null;
    this.subMids = new Map();
    this.ownTracks = {}; // kind → room track id of our published track
    this.queue = Promise.resolve();
    this.pubChain = Promise.resolve();
    this.pendingCands = { publisher: [], subscriber: [] };
    this.reconnecting = false;
    this.holdUntil = 0;
    this.onOnline = () => {
      this.wake = true;
    };
    window.addEventListener('online', this.onOnline);
  }

  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(what) {
    for (const fn of this.listeners) {
      try {
        fn(what);
      } catch (e) {
        console.error(e);
      }
    }
  }

  setStatus(s) {
    this.status = s;
    this.emit('status');
  }

  get iceServers() {
    return (this.joinedIce && this.joinedIce.length ? this.joinedIce : this.join?.ice_servers) || [];
  }

  participant(id) {
    return this.participants.get(id);
  }

  // start enters the session: a token from the case API, the WebSocket, join.
  async start() {
    this.metrics.start = performance.now();
    this.setStatus('connecting');
    try {
      this.join = await this.getJoin();
      await this.connect({ token: this.join.token, case_id: this.join.case_id, session_id: this.join.session_id });
    } catch (e) {
      this.fail(e);
    }
  }

  fail(e) {
    if (FINAL.has(this.status)) return;
    if (e && (e.code === 'session_closed' || e.status === 409)) {
      this.endReason = 'closed';
      this.teardown('ended');
      return;
    }
    console.warn('room:', e);
    this.error = e;
    this.teardown('failed');
  }

  // connect opens a WebSocket and sends join with the given credentials (a token, or a resume secret).
  async connect(auth, redirects = 0) {
    const sig = new Signal(this.join.url, {
      onMessage: (env) => {
        if (this.sig !== sig) return;
        this.queue = this.queue.then(() => this.handle(env)).catch((e) => console.error('room: handling', env.type, e));
      },
      onClose: (reason) => {
        if (this.sig === sig) this.lost(reason);
      },
    });
    if (this.sig) this.sig.close();
    this.sig = sig;
    await sig.open();
    try {
      await sig.request('join', { version: 1, decode: decodableCodecs(), mode: this.mode, ...auth });
    } catch (e) {
      // Several nodes: the session is hosted elsewhere; go there (docs/signaling.md, "Several nodes").
      if (e.code === 'wrong_node' && e.data && e.data.url && redirects < 3) {
        this.join = { ...this.join, url: e.data.url };
        return this.connect(auth, redirects + 1);
      }
      throw e;
    }
  }

  async handle(env) {
    if (FINAL.has(this.status)) return;
    const d = env.data || {};
    switch (env.type) {
      case 'waiting':
        this.reconnecting = false;
        this.metrics.lobby = true;
        this.closePeers();
        this.preview = !!d.preview && !!this.local && this.local.tracks().length > 0;
        if (this.preview) {
          this.joinedIce = d.ice_servers;
          this.videoCodec = d.video_codec;
        }
        this.setStatus('lobby');
        if (this.preview) this.publish().catch((e) => console.warn('room: lobby preview', e));
        break;
      case 'joined':
        this.joined(d);
        break;
      case 'offer':
        await this.subscriberOffer(d.sdp);
        break;
      case 'candidate':
        this.candidate(d.transport, d.candidate);
        break;
      case 'participant_joined':
      case 'judge_present':
        this.participants.set(d.participant_id, d);
        if (env.type === 'judge_present') this.judgePresent = true;
        this.emit('people');
        break;
      case 'participant_left':
        this.participants.delete(d.participant_id);
        this.remote.delete(d.participant_id);
        this.quality.delete(d.participant_id);
        this.judgePresent = [...this.participants.values()].some((p) => p.role === 'judge');
        if (this.speaker === d.participant_id) this.speaker = '';
        this.emit('people');
        this.emit('remote');
        break;
      case 'case_changed': // the case's documents or state changed (docs/signaling.md): pages look again
        this.emit('case_changed');
        break;
      case 'lobby':
        this.lobby = d.waiting || [];
        this.emit('lobby');
        break;
      case 'track_published':
      case 'track_muted':
        if (d.track) this.tracks.set(d.track.track_id, d.track);
        this.emit('tracks');
        break;
      case 'track_unpublished':
        if (d.track) this.tracks.delete(d.track.track_id);
        this.emit('tracks');
        break;
      case 'active_speaker':
        this.speaker = d.participant_id || '';
        this.emit('speaker');
        break;
      case 'connection_quality':
        this.quality.set(d.participant_id, d);
        this.emit('quality');
        break;
      case 'caucus_state':
        this.caucuses = d.caucuses || [];
        this.scope = d.scope || '';
        this.privateSession = !!d.private_session;
        this.emit('caucus');
        break;
      case 'video_codec':
        this.videoCodec = d.codec;
        if (this.pub) {
          this.preferCodec();
          this.negotiatePublisher().catch((e) => console.warn('room: republish', e));
        }
        break;
      case 'video_paused':
        if (d.paused) this.paused.add(d.track_id);
        else this.paused.delete(d.track_id);
        this.emit('paused');
        break;
      case 'moderated':
        this.moderated(d);
        break;
      case 'removed':
        this.endReason = d.reason || '';
        this.teardown('removed');
        break;
      case 'reconnect':
        // The node hands the room to another one: reconnect there at once (the server closes this socket).
        if (d.url) this.join = { ...this.join, url: d.url };
        this.holdUntil = 0;
        break;
      case 'session_ending':
        this.endReason = d.reason || 'ended';
        this.teardown('ended');
        break;
      case 'chat':
        this.chat.push(d);
        if (this.chat.length > 500) this.chat.shift();
        this.emit('chat');
        break;
      case 'error':
        if (d.code === 'already_joined' && !env.ref) {
          this.teardown('replaced');
        } else if (!env.ref) {
          this.lastError = d;
          this.emit('error');
        }
        break;
      default:
        break; // unknown types are ignored (the server may add events)
    }
  }

  joined(d) {
    const resumed = this.status === 'reconnecting';
    this.self = { participant_id: d.participant_id, role: d.role, can_publish: d.can_publish, can_subscribe: d.can_subscribe, can_moderate: d.can_moderate };
    this.resume = d.resume || this.resume;
    this.joinedIce = d.ice_servers;
    this.videoCodec = d.video_codec;
    this.participants = new Map((d.participants || []).map((p) => [p.participant_id, p]));
    this.tracks = new Map((d.tracks || []).map((tr) => [tr.track_id, tr]));
    this.caucuses = d.caucuses || [];
    this.scope = d.scope || '';
    this.judgePresent = !!d.judge_present;
    this.privateSession = this.caucuses.some((c) => c.caucus_id !== this.scope && (c.present || []).some((id) => this.participants.get(id)?.role === 'mediator'));
    // Admitted from the lobby preview: the server keeps our publisher transport (the camera the mediator saw
    // goes on); anything else (first join, reconnect) starts both transports afresh.
    const keepPub = this.status === 'lobby' && this.preview && !!this.pub && !d.resumed;
    this.preview = false;
    if (keepPub) {
      const pub = this.pub;
      this.pub = null;
      this.closePeers();
      this.pub = pub;
    } else {
      this.closePeers();
    }
    this.paused = new Set();
    this.remote = new Map();
    this.subMids = new Map();
    this.sub = this.peer('subscriber');
    this.sub.ontrack = () => this.syncRemote();
    if (resumed || this.metrics.joined) {
      this.metrics.resumed = performance.now();
      this.metrics.resumedFrame = 0;
    } else {
      this.metrics.joined = performance.now();
    }
    this.reconnecting = false;
    this.setStatus('joined');
    this.emit('people');
    this.emit('remote');
    this.emit('caucus');
    if (d.can_publish && this.local && this.local.tracks().length && !keepPub) this.publish().catch((e) => console.warn('room: publish', e));
  }

  // myId is our participant ID: from joined, or while waiting from the case API's join answer.
  get myId() {
    return this.self?.participant_id || this.join?.participant_id || '';
  }

  // preferCodec puts the room's video codec first on our video transceiver, so the browser's encoder follows a
  // room codec switch on the same transceiver (docs/signaling.md §6.14, way 1).
  preferCodec() {
    if (!this.pub || !this.videoCodec || typeof RTCRtpSender === 'undefined' || !RTCRtpSender.getCapabilities) return;
    const caps = RTCRtpSender.getCapabilities('video');
    if (!caps) return;
    const want = this.videoCodec === 'H264' ? /h264/i : /vp8/i;
    const first = caps.codecs.filter((c) => want.test(c.mimeType));
    const rest = caps.codecs.filter((c) => !want.test(c.mimeType));
    for (const tr of this.pub.getTransceivers()) {
      if (tr.sender.track && tr.sender.track.kind === 'video' && tr.setCodecPreferences && first.length) {
        try {
          tr.setCodecPreferences([...first, ...rest]);
        } catch (e) {
          console.warn('room: codec preferences', e);
        }
      }
    }
  }

  // peer makes a PeerConnection for one transport, with trickle ICE and failure detection.
  peer(transport) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    pc.onicecandidate = (ev) => {
      if (ev.candidate && ev.candidate.candidate && this.sig) this.sig.send('candidate', { transport, candidate: ev.candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' && (pc === this.pub || pc === this.sub) && this.status === 'joined') this.lost(`${transport} failed`);
      this.emit('connection');
    };
    return pc;
  }

  candidate(transport, c) {
    const pc = transport === 'publisher' ? this.pub : this.sub;
    if (!c || !c.candidate) return;
    if (!pc || !pc.remoteDescription) {
      this.pendingCands[transport].push(c);
      return;
    }
    pc.addIceCandidate(c).catch((e) => console.warn('room: candidate', e));
  }

  flushCandidates(transport) {
    const pc = transport === 'publisher' ? this.pub : this.sub;
    const list = this.pendingCands[transport];
    this.pendingCands[transport] = [];
    for (const c of list) pc.addIceCandidate(c).catch((e) => console.warn('room: candidate', e));
  }

  async subscriberOffer(sdp) {
    const pc = this.sub;
    if (!pc) return;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    this.flushCandidates('subscriber');
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.sig.send('answer', { sdp: pc.localDescription.sdp });
    this.subMids = parseMids(sdp);
    this.syncRemote();
  }

  // syncRemote maps the subscriber's receivers to participants by the msid of each m-section (stream id =
  // publisher, track id = room track id); an m-section the server stopped sending on is dropped.
  syncRemote() {
    if (!this.sub) return;
    const next = new Map();
    for (const tr of this.sub.getTransceivers()) {
      const m = tr.mid && this.subMids.get(tr.mid);
      if (!m || !m.stream || m.direction === 'inactive' || m.direction === 'recvonly') continue;
      const kind = tr.receiver.track.kind;
      const rec = next.get(m.stream) || { audio: null, video: null, audioId: '', videoId: '' };
      rec[kind] = tr.receiver.track;
      rec[`${kind}Id`] = m.track;
      next.set(m.stream, rec);
    }
    const same = next.size === this.remote.size && [...next].every(([id, r]) => {
      const o = this.remote.get(id);
      return o && o.audio === r.audio && o.video === r.video && o.videoId === r.videoId && o.audioId === r.audioId;
    });
    this.remote = next;
    if (!same) this.emit('remote');
  }

  async publish() {
    if (!this.local || !(this.preview || (this.self && this.self.can_publish))) return;
    if (!this.pub) {
      this.pub = this.peer('publisher');
      for (const track of this.local.tracks()) {
        const init = { direction: 'sendonly', streams: [this.local.stream] };
        if (track.kind === 'video') {
          const st = track.getSettings ? track.getSettings() : {};
          this.layers = simulcastLayers(st.width, st.height, smallScreen());
          if (this.layers.length > 1) init.sendEncodings = this.layers.map((l) => ({ rid: l.rid, scaleResolutionDownBy: l.scale, maxBitrate: l.maxBitrate }));
          else this.layers = [];
        }
        this.pub.addTransceiver(track, init);
      }
      this.preferCodec();
    }
    await this.negotiatePublisher();
  }

  // negotiatePublisher sends our offer and applies the answer, one negotiation at a time.
  negotiatePublisher() {
    const run = async () => {
      const pc = this.pub;
      if (!pc || !this.sig) return;
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const mids = parseMids(pc.localDescription.sdp);
      const tracks = [];
      this.ownTracks = {};
      for (const tr of pc.getTransceivers()) {
        const m = tr.mid && mids.get(tr.mid);
        if (!m || !m.track || !tr.sender.track) continue;
        const meta = { track_id: m.track, source: m.kind === 'audio' ? 'microphone' : 'camera' };
        if (m.kind === 'video' && this.layers.length > 1) meta.layers = this.layers.map((l) => ({ rid: l.rid, width: l.width, height: l.height }));
        tracks.push(meta);
        this.ownTracks[m.kind] = `${this.myId}/${m.track}`;
      }
      const env = await this.sig.request('offer', { sdp: pc.localDescription.sdp, tracks });
      if (pc !== this.pub) return;
      await pc.setRemoteDescription({ type: 'answer', sdp: env.data.sdp });
      this.flushCandidates('publisher');
      // Tell the room what is switched off already (a reconnect keeps the choice).
      for (const kind of ['audio', 'video']) {
        if (this.ownTracks[kind] && !this.local.enabled(kind)) this.sig.send('mute', { track_id: this.ownTracks[kind], muted: true });
      }
    };
    this.pubChain = this.pubChain.then(run, run);
    return this.pubChain;
  }

  // setEnabled turns our microphone or camera on or off (the server stops forwarding it and tells the room).
  async setEnabled(kind, on) {
    if (!this.local) return;
    this.local.setEnabled(kind, on);
    if (kind === 'audio' && on) this.moderatedBy = null;
    this.emit('local');
    const id = this.ownTracks[kind];
    if (id && this.sig && (this.status === 'joined' || this.preview)) await this.sig.request('mute', { track_id: id, muted: !on });
  }

  // flipCamera switches between the front and back camera without renegotiating (replaceTrack).
  async flipCamera() {
    if (!this.local) return;
    const old = this.local.video;
    const fresh = await this.local.flip();
    if (this.pub && fresh) {
      const sender = this.pub.getSenders().find((s) => s.track === old || (s.track && s.track.kind === 'video'));
      if (sender) await sender.replaceTrack(fresh);
    }
    this.emit('local');
  }

  moderated(d) {
    if (!this.local) return;
    const kinds = d.kind ? [d.kind] : ['audio', 'video'];
    for (const k of kinds) this.local.setEnabled(k, d.action !== 'mute');
    this.moderatedBy = d.action === 'mute' ? d : null;
    this.emit('local');
  }

  send(type, data) {
    if (!this.sig || this.status !== 'joined') return Promise.reject(new SignalError('not_joined'));
    return this.sig.request(type, data);
  }

  sendChat(text) {
    return this.send('chat', { text });
  }

  admit(id, check) {
    return this.send('admit', { participant_id: id, identity_check: check });
  }

  removeParticipant(id, reason) {
    return this.send('remove', { participant_id: id, reason: reason || undefined });
  }

  muteParticipant(id, kind, muted) {
    return this.send('mute_participant', { participant_id: id, kind, muted });
  }

  async openCaucus(members) {
    const env = await this.send('caucus_open', { members });
    return env.data?.caucus_id;
  }

  closeCaucus(id) {
    return this.send('caucus_close', { caucus_id: id });
  }

  // consentCaucusRecording: we (in caucus id) consent to its separate recording; it starts once everyone in it
  // has (issue 14).
  consentCaucusRecording(id) {
    return this.send('caucus_record_consent', { caucus_id: id });
  }

  moveTo(id) {
    return this.send('caucus_move', { caucus_id: id });
  }

  endSession() {
    return this.send('end_session');
  }

  render(trackId, width, height) {
    if (this.sig && this.status === 'joined') this.sig.send('render', { track_id: trackId, width: Math.round(width), height: Math.round(height) });
  }

  // noteFrame records the first remote video frame shown (join → first frame).
  noteFrame() {
    const m = this.metrics;
    if (!m.firstFrame) m.firstFrame = performance.now();
    else if (m.resumed && !m.resumedFrame) m.resumedFrame = performance.now();
  }

  // lost starts reconnecting after the WebSocket or a transport failed: the resume token within the grace,
  // then a fresh join token.
  async lost(reason) {
    // Only a connection that was in (the room or the lobby) is taken back; a first connection that fails is
    // start()'s to report.
    if ((this.status !== 'joined' && this.status !== 'lobby') || this.reconnecting) return;
    console.warn('room: connection lost:', reason);
    this.reconnecting = true;
    const since = Date.now();
    this.closePeers();
    this.remote = new Map();
    this.setStatus('reconnecting');
    if (this.sig) this.sig.close();
    this.sig = null;
    let delay = 500;
    while (this.reconnecting && Date.now() - since < GRACE_MS) {
      const wait = Math.max(delay, this.holdUntil - Date.now());
      for (let waited = 0; waited < wait && !this.wake; waited += 100) await sleep(100);
      this.wake = false;
      delay = Math.min(delay * 2, 2000);
      if (!this.reconnecting) return;
      try {
        await this.connect(this.resume ? { resume: this.resume } : { token: this.join.token, case_id: this.join.case_id, session_id: this.join.session_id });
      } catch (e) {
        if (e.code === 'network' || e.code === 'timeout' || e.code === 'unavailable') {
          // The node may be gone: ask the join API where the room is now (it moves within seconds).
          try {
            const j = await this.getJoin();
            this.join = { ...j };
          } catch {
            // the API is briefly unavailable too: try again with what we have
          }
          continue;
        }
        break; // session_closed (seat gone), token problems: try a fresh token
      }
      // joined (or waiting) arrives through the queue; if the new connection dies first, try again.
      for (let i = 0; i < 100 && this.status === 'reconnecting' && this.sig && !this.sig.closed; i++) await sleep(100);
      if (this.status !== 'reconnecting') return;
    }
    if (!this.reconnecting) return;
    try {
      this.resume = '';
      this.join = await this.getJoin();
      await this.connect({ token: this.join.token, case_id: this.join.case_id, session_id: this.join.session_id });
    } catch (e) {
      this.reconnecting = false;
      this.fail(e);
    }
  }

  // dropConnection cuts the signalling connection as a network change would and holds off the reconnect for
  // holdMs (to see and test the reconnecting state).
  dropConnection(holdMs = 0) {
    this.holdUntil = Date.now() + holdMs;
    if (this.sig) this.sig.drop('dropped');
  }

  // inboundStats sums what the subscriber receives, per publisher and kind.
  async inboundStats() {
    if (!this.sub) return [];
    const byMid = new Map();
    for (const tr of this.sub.getTransceivers()) {
      const m = tr.mid && this.subMids.get(tr.mid);
      if (m && m.stream) byMid.set(tr.mid, m);
    }
    const out = [];
    const stats = await this.sub.getStats();
    stats.forEach((r) => {
      if (r.type !== 'inbound-rtp') return;
      const m = byMid.get(r.mid);
      if (!m) return;
      out.push({ participant_id: m.stream, track_id: m.track, kind: r.kind, bytes: r.bytesReceived || 0, packets: r.packetsReceived || 0, frames: r.framesDecoded || 0 });
    });
    return out;
  }

  closePeers() {
    for (const pc of [this.pub, this.sub]) {
      if (pc) {
        pc.onconnectionstatechange = null;
        pc.close();
      }
    }
    this.pub = null;
    this.sub = null;
    this.pendingCands = { publisher: [], subscriber: [] };
    this.ownTracks = {};
  }

  teardown(status) {
    this.reconnecting = false;
    this.closePeers();
    if (this.sig) this.sig.close();
    this.sig = null;
    this.remote = new Map();
    window.removeEventListener('online', this.onOnline);
    this.setStatus(status);
  }

  // leave leaves for good (the seat is freed at once).
  leave() {
    if (this.sig && !FINAL.has(this.status)) this.sig.send('leave');
    if (!FINAL.has(this.status)) this.teardown('left');
  }
}
