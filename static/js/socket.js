// The websocket to /ws: connection, automatic reconnect with back-off, JSON messages and the
// binary frame decoding of docs/protocol.md.

const MAGIC = 'NNPF';
const MAX_PER_SECOND = 50;
const READY = JSON.stringify({ type: 'ready' });
const decoder = new TextDecoder();

/** Decode a binary frame: {header, arrays: {name: {data: Float32Array, shape}}} (docs/protocol.md).
 * float32 arrays (the weights) are read as they are; uint8 ones are images quantized per image:
 * value = lo + q (hi - lo) / 255, lo and hi per image. */
export function decodeFrame(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
  if (magic !== MAGIC) throw new Error(`not a frame (magic ${JSON.stringify(magic)})`);
  const headerLength = view.getUint32(4, true);
  const header = JSON.parse(decoder.decode(new Uint8Array(buffer, 8, headerLength)));
  const payload = (8 + headerLength + 3) & ~3; // zero padding to a multiple of 4
  const arrays = {};
  for (const [name, spec] of Object.entries(header.arrays || {})) {
    const length = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.dtype === 'float32') { // little-endian on the wire, as on every platform browsers run on
      arrays[name] = { data: new Float32Array(buffer, payload + spec.offset, length), shape: spec.shape };
      continue;
    }
    if (spec.dtype !== 'uint8') throw new Error(`frame array ${name}: unsupported dtype ${spec.dtype}`);
    const q = new Uint8Array(buffer, payload + spec.offset, length);
    const data = new Float32Array(length);
    const images = spec.lo.length;
    const size = images ? length / images : 0;
    for (let k = 0; k < images; k++) {
      const lo = spec.lo[k];
      const step = (spec.hi[k] - lo) / 255;
      for (let i = k * size, end = i + size; i < end; i++) data[i] = lo + q[i] * step;
    }
    arrays[name] = { data, shape: spec.shape };
  }
  return { header, arrays };
}

/** A websocket that reconnects by itself. Events: open, close, message (JSON object), frame. */
export class Connection {
  constructor(url) {
    this.url = url;
    this.handlers = {};
    this.retryDelay = 500;
    this.timer = null;
    this.ws = null;
    this.queue = [];
    this.sent = [];
    this.flushTimer = null;
  }

  on(event, fn) {
    (this.handlers[event] ??= []).push(fn);
    return this;
  }

  emit(event, arg) {
    for (const fn of this.handlers[event] || []) fn(arg);
  }

  get open() { return this.ws?.readyState === WebSocket.OPEN; }

  /** Close for good: no reconnecting (a room that ended, a join the server refused). */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close();
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.retryDelay = 500;
      this.emit('open');
    };
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') this.emit('message', JSON.parse(event.data));
      else this.emit('frame', decodeFrame(event.data));
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.queue = [];
      if (this.stopped) { this.emit('close', { retryIn: null, stopped: true, code: event.code }); return; }
      this.emit('close', { retryIn: this.retryDelay, code: event.code, reason: event.reason });
      if (this.stopped) return; // a handler stopped it (e.g. a room that ended)
      this.timer = setTimeout(() => this.connect(), this.retryDelay);
      this.retryDelay = Math.min(this.retryDelay * 2, 10000);
    };
  }

  /** Reconnect now (the banner's button) instead of waiting for the back-off. */
  reconnect() {
    this.retryDelay = 500;
    this.connect();
  }

  /** Send a JSON message; above the server's rate limit (60/s) messages wait their turn.
   *  `ready` credits go at once: the server counts them apart (120/s), and there is one per
   *  frame received, so holding them back would hold back the frames (at most 50/s). */
  send(message) {
    if (!this.open) return false;
    if (message.type === 'ready') { this.ws.send(READY); return true; }
    this.queue.push(JSON.stringify(message));
    this.flush();
    return true;
  }

  flush() {
    const now = performance.now();
    while (this.sent.length && now - this.sent[0] > 1000) this.sent.shift();
    while (this.queue.length && this.sent.length < MAX_PER_SECOND && this.open) {
      this.ws.send(this.queue.shift());
      this.sent.push(now);
    }
    if (this.queue.length && !this.flushTimer) {
      this.flushTimer = setTimeout(() => { this.flushTimer = null; this.flush(); }, 1000 - (now - this.sent[0]));
    }
  }
}

export const socketUrl = (path = '/ws') => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
