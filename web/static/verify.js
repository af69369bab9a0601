// verify.js checks a record's inclusion proof in the browser, with nothing
// but WebCrypto and the deployment's verifier key: the server is not
// trusted. It follows docs/proofs.md:
//   1. SHA-256 of the record's canonical JSON is its content hash;
//   2. the leaf is "waarborg-leaf/v1\n<tenant>\n<id>\n<received_at>\n<hex hash>\n";
//   3. RFC 9162 2.1.3.2 walks the audit path from SHA-256(0x00 || leaf) to a root;
//   4. the checkpoint (C2SP signed note) is signed by the verifier key with
//      Ed25519, names this tenant's log, and states that size and root.
// WebCrypto exists only in a secure context (HTTPS or localhost); elsewhere
// the buttons stay hidden and the server-side check remains.
"use strict";
(function () {
  const subtle = window.isSecureContext && window.crypto && window.crypto.subtle;
  if (!subtle) return;
  const enc = new TextEncoder();

  function concat(...parts) {
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let i = 0;
    for (const p of parts) { out.set(p, i); i += p.length; }
    return out;
  }
  async function sha256(...parts) {
    return new Uint8Array(await subtle.digest("SHA-256", concat(...parts)));
  }
  function fromB64(s) {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hex(b) {
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  const LEAF = new Uint8Array([0]);
  const NODE = new Uint8Array([1]);

  // RFC 9162, 2.1.3.2: the root an inclusion proof leads to.
  async function rootFromPath(index, size, leafHash, path) {
    if (index >= size) throw new Error("the leaf index is beyond the tree size");
    let fn = index, sn = size - 1, r = leafHash;
    for (const p of path) {
      if (sn === 0) throw new Error("the proof is longer than the tree is deep");
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(NODE, p, r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await sha256(NODE, r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("the proof is shorter than the tree is deep");
    return r;
  }

  // openCheckpoint checks a signed note with a verifier key
  // (<name>+<hex key hash>+<base64 0x01 || Ed25519 key>) and returns its text.
  async function openCheckpoint(noteText, vkey) {
    // The key's base64 may hold "+": only the first two separate.
    const i = vkey.indexOf("+"), j = vkey.indexOf("+", i + 1);
    if (i < 0 || j < 0) throw new Error("the verifier key is not name+hash+key");
    const name = vkey.slice(0, i), hash16 = vkey.slice(i + 1, j), key64 = vkey.slice(j + 1);
    const key = fromB64(key64 || "");
    if (!name || !hash16 || key.length !== 33 || key[0] !== 1) throw new Error("the verifier key is not an Ed25519 note key");
    const kh = await sha256(enc.encode(name + "\n"), key);
    if (hex(kh.slice(0, 4)) !== hash16.toLowerCase()) throw new Error("the verifier key's hash does not match its key");
    const split = noteText.lastIndexOf("\n\n");
    if (split < 0) throw new Error("the checkpoint is not a signed note");
    const text = noteText.slice(0, split + 1);
    const sigLines = noteText.slice(split + 2).split("\n").filter((l) => l !== "");
    const pub = await subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
    for (const line of sigLines) {
      if (!line.startsWith("\u2014 ")) continue;
      const [sigName, sig64] = line.slice(2).split(" ");
      if (sigName !== name) continue;
      const sig = fromB64(sig64);
      if (sig.length !== 68 || hex(sig.slice(0, 4)) !== hash16.toLowerCase()) continue;
      if (await subtle.verify({ name: "Ed25519" }, pub, sig.slice(4), enc.encode(text))) return text;
    }
    throw new Error("no signature on the checkpoint checks with the verifier key");
  }

  async function verify(box) {
    const d = box.dataset;
    const record = d.record;
    const rec = JSON.parse(record);
    if (rec.tenant !== d.tenant) throw new Error("the record is not of tenant " + d.tenant);
    const content = hex(await sha256(enc.encode(record)));
    const leaf = "waarborg-leaf/v1\n" + rec.tenant + "\n" + rec.id + "\n" + d.received + "\n" + content + "\n";
    const leafHash = await sha256(LEAF, enc.encode(leaf));
    const path = JSON.parse(d.proof).map(fromB64);
    const index = Number(d.index), size = Number(d.size);
    const root = await rootFromPath(index, size, leafHash, path);
    const text = await openCheckpoint(d.checkpoint, d.key);
    const lines = text.split("\n");
    if (!lines[0].endsWith("/waarborg/" + d.tenant)) throw new Error("the checkpoint is of another log: " + lines[0]);
    if (Number(lines[1]) !== size) throw new Error("the checkpoint states size " + lines[1] + ", not " + size);
    if (!equal(fromB64(lines[2]), root)) throw new Error("the proof leads to another root than the checkpoint's");
    return "Verified in this browser: content hash " + content.slice(0, 16) + "…, leaf " + index +
      " of " + size + ", " + path.length + " proof hashes to the root, checkpoint signed by " + d.key.slice(0, d.key.indexOf("+")) + ".";
  }

  document.querySelectorAll(".proof").forEach((box) => {
    const button = box.querySelector("button.verify");
    const out = box.querySelector(".result");
    if (!button || !out) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      button.disabled = true;
      out.className = "result";
      out.textContent = "Verifying…";
      try {
        out.textContent = await verify(box);
        out.classList.add("ok");
      } catch (e) {
        out.textContent = "Not verified: " + e.message;
        out.classList.add("fail");
      } finally {
        button.disabled = false;
      }
    });
  });
})();
