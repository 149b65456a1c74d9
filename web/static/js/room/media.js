// The camera and microphone a participant publishes: capture sized for phones on 4G (smaller still in data-saver
// mode), on/off switches, and the front/back camera switch (a new track for the same sender).

const SAVER_KEY = 'parley.datasaver';

// dataSaver reports whether the user asked for the small-video mode (or the browser says data is expensive).
export function dataSaver() {
  try {
    const v = localStorage.getItem(SAVER_KEY);
    if (v !== null) return v === '1';
  } catch {
    // no storage
  }
  return !!(navigator.connection && navigator.connection.saveData);
}

export function setDataSaver(on) {
  try {
    localStorage.setItem(SAVER_KEY, on ? '1' : '0');
  } catch {
    // the choice lasts for this page
  }
}

// smallScreen: a phone held upright (its short side under 480 CSS pixels).
function smallScreen() {
  try {
    return Math.min(screen.width, screen.height) < 480;
  } catch {
    return false;
  }
}

// videoConstraints sizes the capture for the simulcast layers it feeds (room/session.js simulcastLayers): 720p on
// a computer (three layers), 480 lines on a phone (two), 240 in data-saver mode (one).
function videoConstraints(facing) {
  const small = dataSaver();
  const phone = smallScreen();
  return {
    facingMode: facing,
    width: { ideal: small ? 320 : phone ? 640 : 1280 },
    height: { ideal: small ? 240 : phone ? 480 : 720 },
    frameRate: { ideal: small ? 12 : 24, max: 30 },
  };
}

const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

// mediaErrorKey names why getUserMedia failed, for the dictionaries (device.err_*).
export function mediaErrorKey(e) {
  return { NotAllowedError: 'denied', SecurityError: 'denied', NotFoundError: 'missing', OverconstrainedError: 'missing', NotReadableError: 'busy', AbortError: 'busy' }[e && e.name] || 'other';
}

export class LocalMedia {
  constructor() {
    this.stream = new MediaStream();
    this.audio = null;
    this.video = null;
    this.facing = 'user';
    this.cameras = 0;
    this.error = null; // why capture failed, when it did
  }

  // open asks for the camera and microphone; when both cannot be had it tries each alone, so a party without
  // a camera can still speak.
  async open() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.error = { name: 'SecurityError' };
      return;
    }
    let s = null;
    try {
      s = await navigator.mediaDevices.getUserMedia({ audio: AUDIO, video: videoConstraints(this.facing) });
    } catch (e) {
      this.error = e;
      for (const c of [{ audio: AUDIO }, { video: videoConstraints(this.facing) }]) {
        try {
          s = await navigator.mediaDevices.getUserMedia(c);
          break;
        } catch {
          // try the other
        }
      }
    }
    if (s) {
      this.audio = s.getAudioTracks()[0] || null;
      this.video = s.getVideoTracks()[0] || null;
      for (const tr of s.getTracks()) this.stream.addTrack(tr);
      if (this.audio && this.video) this.error = null;
    }
    try {
      this.cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput').length;
    } catch {
      this.cameras = this.video ? 1 : 0;
    }
  }

  tracks() {
    return [this.audio, this.video].filter(Boolean);
  }

  enabled(kind) {
    const tr = kind === 'audio' ? this.audio : this.video;
    return !!tr && tr.enabled;
  }

  setEnabled(kind, on) {
    const tr = kind === 'audio' ? this.audio : this.video;
    if (tr) tr.enabled = on;
  }

  // flip opens the other camera and returns its track (the old one is stopped).
  async flip() {
    if (!this.video) return null;
    const next = this.facing === 'user' ? 'environment' : 'user';
    const wasOn = this.video.enabled;
    let s;
    try {
      s = await navigator.mediaDevices.getUserMedia({ video: { ...videoConstraints(next), facingMode: { exact: next } } });
    } catch {
      // A phone names its cameras by facing; a computer with one camera has no other: keep this one.
      s = await navigator.mediaDevices.getUserMedia({ video: videoConstraints(next) });
    }
    const fresh = s.getVideoTracks()[0];
    this.stream.removeTrack(this.video);
    this.video.stop();
    fresh.enabled = wasOn;
    this.video = fresh;
    this.stream.addTrack(fresh);
    this.facing = next;
    return fresh;
  }

  stop() {
    for (const tr of this.tracks()) tr.stop();
  }
}
