// The live connection (shared/spec/live.md): one WebSocket per tab, topics with their last offset and
// epoch, reconnect with jittered exponential backoff and `since`, `resync` handed to the view so it
// refetches over HTTP. The state (connecting / live / offline) is published for the status badge.

const MIN_DELAY = 500;
const MAX_DELAY = 30000;

/** topic → {handlers: Set, offset, epoch} */
const topics = new Map();
const stateListeners = new Set();
let socket = null;
let state = 'idle';
let attempt = 0;
let timer = null;
let wanted = false;

function setState(next) {
  if (state === next) return;
  state = next;
  for (const fn of stateListeners) fn(state);
}

export function connectionState() { return state; }

export function onState(fn) {
  stateListeners.add(fn);
  fn(state);
  return () => stateListeners.delete(fn);
}

function send(msg) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
}

function subscribeMessage(topic, entry) {
  const msg = { type: 'subscribe', topic };
  if (entry.offset !== null && entry.epoch !== null) {
    msg.since = entry.offset;
    msg.epoch = entry.epoch;
  }
  return msg;
}

function connect() {
  if (socket || !wanted) return;
  clearTimeout(timer);
  setState(attempt === 0 ? 'connecting' : 'reconnecting');
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/live`;
  const ws = new WebSocket(url);
  socket = ws;
  ws.addEventListener('open', () => {
    attempt = 0;
    setState('live');
    for (const [topic, entry] of topics) send(subscribeMessage(topic, entry));
  });
  ws.addEventListener('message', (e) => {
    let data;
    try { data = JSON.parse(e.data); } catch { return; }
    for (const msg of Array.isArray(data) ? data : [data]) dispatch(msg);
  });
  ws.addEventListener('close', (e) => {
    if (socket !== ws) return;
    socket = null;
    if (!wanted) { setState('idle'); return; }
    if (e.code === 4001) { setState('signedout'); return; }
    scheduleReconnect();
  });
  ws.addEventListener('error', () => { /* close follows */ });
}

function scheduleReconnect() {
  setState('offline');
  attempt += 1;
  const cap = Math.min(MAX_DELAY, MIN_DELAY * 2 ** Math.min(attempt, 10));
  // Full jitter, so a crowd that lost the same node does not come back in one wave.
  const delay = MIN_DELAY / 2 + Math.random() * cap;
  timer = setTimeout(connect, delay);
}

function deliver(topic, msg) {
  const entry = topics.get(topic);
  if (!entry) return;
  for (const fn of entry.handlers) {
    try { fn(msg); } catch (err) { console.error(err); }
  }
}

function dispatch(msg) {
  const entry = msg.topic ? topics.get(msg.topic) : null;
  switch (msg.type) {
    case 'subscribed':
      if (entry) { entry.offset = msg.offset; entry.epoch = msg.epoch ?? null; }
      break;
    case 'event':
      if (!entry) return;
      if (entry.offset !== null && msg.offset <= entry.offset) return; // replayed twice
      if (entry.offset !== null && msg.offset > entry.offset + 1) {
        // A gap we were not told about: the view refetches to be sure.
        entry.offset = msg.offset;
        deliver(msg.topic, { type: 'resync', topic: msg.topic, reason: 'gap' });
        return;
      }
      entry.offset = msg.offset;
      deliver(msg.topic, msg);
      break;
    case 'resync':
      if (!entry) return;
      entry.offset = null;
      entry.epoch = null;
      deliver(msg.topic, msg);
      // The view refetched (or is doing so); subscribe afresh without `since`.
      send({ type: 'subscribe', topic: msg.topic });
      break;
    case 'tally':
    case 'presence':
      deliver(msg.topic, msg);
      break;
    case 'error':
      if (msg.topic) deliver(msg.topic, msg);
      break;
    default:
      break;
  }
}

/**
 * Receive the messages of `topic` (events, tally, presence, resync, error) in `handler`.
 * Returns the function that stops it. Opens the connection on first use.
 */
export function subscribe(topic, handler) {
  let entry = topics.get(topic);
  if (!entry) {
    entry = { handlers: new Set(), offset: null, epoch: null };
    topics.set(topic, entry);
    send({ type: 'subscribe', topic });
  }
  entry.handlers.add(handler);
  wanted = true;
  connect();
  return () => {
    entry.handlers.delete(handler);
    if (entry.handlers.size === 0) {
      topics.delete(topic);
      send({ type: 'unsubscribe', topic });
    }
  };
}

/** After sign-in or join the cookie changed: start over with it. */
export function restart() {
  if (socket) {
    const ws = socket;
    socket = null;
    ws.close(1000);
  }
  attempt = 0;
  if (wanted) connect();
}

// Back online or back to the tab: do not wait for the backoff timer.
window.addEventListener('online', () => { if (!socket && wanted) { attempt = 0; connect(); } });
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && !socket && wanted) connect();
});
