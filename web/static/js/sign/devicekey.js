// The signer's device key (docs/signing.md): an ECDSA P-256 key made with WebCrypto, not extractable, kept in
// IndexedDB under one name per case and signer, so the same key signs every document of that case on this
// device. The private key never leaves the browser: only the public key (SPKI) and signatures are sent.

const DB = 'parley-keys';
const STORE = 'keys';

export class KeyError extends Error {
  constructor(code, cause) {
    super(code);
    this.code = code;
    this.cause = cause;
  }
}

// available reports whether this browser can hold a device key (WebCrypto needs a secure context: https or
// localhost).
export const available = () => !!(window.isSecureContext && window.crypto && crypto.subtle && window.indexedDB);

function openDB() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('indexeddb blocked'));
  });
}

function tx(db, mode, fn) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const req = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(req && req.result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

export function b64(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
  return btoa(s);
}

export function unb64(str) {
  const s = atob(str);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// deviceKey returns this device's key for a signer of a case, making it the first time:
// {privateKey, spki (base64), created (bool)}.
export async function deviceKey(caseId, signerId) {
  if (!available()) throw new KeyError('insecure');
  const name = `${caseId}:${signerId}`;
  let db;
  try {
    db = await openDB();
  } catch (e) {
    throw new KeyError('storage', e);
  }
  try {
    let pair = await tx(db, 'readonly', (s) => s.get(name));
    let created = false;
    if (!pair || !pair.privateKey || !pair.publicKey) {
      pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
      await tx(db, 'readwrite', (s) => s.put({ privateKey: pair.privateKey, publicKey: pair.publicKey, created: Date.now() }, name));
      created = true;
    }
    const spki = b64(await crypto.subtle.exportKey('spki', pair.publicKey));
    return { privateKey: pair.privateKey, spki, created };
  } catch (e) {
    if (e instanceof KeyError) throw e;
    throw new KeyError('crypto', e);
  } finally {
    db.close();
  }
}

// sign signs bytes with ECDSA over SHA-256 and returns the raw r‖s signature in base64 (what WebCrypto gives).
export async function sign(privateKey, bytes) {
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, bytes);
  return b64(sig);
}

// keyProof is the message whose signature shows the server that the caller holds the key.
export const keyProof = (caseId, signerId, spki) => new TextEncoder().encode(`parley-key-proof:${caseId}:${signerId}:${spki}`);
