/*
 * The Parley chat widget: one script tag, no framework.
 *
 *   <script src="https://chat.example.com/widget.js" data-widget-key="pk_..." async></script>
 *
 * Optional attributes: data-container="#id" (render inside that element
 * instead of a floating panel), data-title="Support", data-language="de"
 * (else the page's lang, else the browser's: agents are matched by it), and
 * data-customer-id with data-customer-signature (hex HMAC-SHA256 of the id
 * with the tenant's identity secret, computed by the tenant's server) to say
 * who a signed-in customer is.
 *
 * Protocol: docs/protocol.md. The widget keeps its visitor token, its
 * conversation, the last sequence number it showed and the messages not yet
 * acknowledged in localStorage, so a reload, a dropped connection or a
 * restarted gateway pod loses nothing: it reconnects with exponential backoff
 * and jitter (at once when the network returns or the page becomes visible),
 * resumes from its last sequence number, and resends what was not acknowledged
 * (the server deduplicates by client message id).
 */
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script) return;
  const widgetKey = script.dataset.widgetKey;
  if (!widgetKey) {
    console.error('Parley: the script tag needs data-widget-key');
    return;
  }
  const base = new URL(script.src, location.href);
  const apiBase = base.origin;
  const wsBase = apiBase.replace(/^http/, 'ws');
  const storageKey = `parley:${widgetKey}`;

  const BACKOFF_BASE_MS = 500;
  const BACKOFF_MAX_MS = 15000;
  const PING_EVERY_MS = 20000;
  const PONG_TIMEOUT_MS = 10000;
  const RESEND_AFTER_MS = 10000;

  /** Persistent state: survives reloads. */
  const saved = load();
  function load() {
    try {
      return JSON.parse(localStorage.getItem(storageKey) || '{}');
    } catch {
      return {};
    }
  }
  function save() {
    try {
      localStorage.setItem(
        storageKey,
        JSON.stringify({
          visitorToken: state.visitorToken,
          conversationId: state.conversationId,
          lastSeq: state.lastSeq,
          outbox: state.outbox,
        }),
      );
    } catch {
      /* storage full or disabled: the widget still works for this page view */
    }
  }

  const state = {
    visitorToken: saved.visitorToken || null,
    conversationId: saved.conversationId || null,
    lastSeq: 0, // shown in this page view; resumed from 0 so the history renders
    outbox: Array.isArray(saved.outbox) ? saved.outbox : [],
    ws: null,
    attempt: 0,
    reconnectTimer: null,
    pingTimer: null,
    pongTimer: null,
    connecting: false,
  };

  // ---- view ----
  const css = `
.parley-root{font:14px/1.4 system-ui,sans-serif;color:#1d1d1f;display:flex;flex-direction:column;
  width:360px;max-width:100%;height:520px;border:1px solid #d0d0d7;border-radius:12px;background:#fff;overflow:hidden}
.parley-floating{position:fixed;right:20px;bottom:20px;box-shadow:0 8px 30px rgba(0,0,0,.15);z-index:2147483000}
.parley-header{display:flex;justify-content:space-between;align-items:center;padding:10px 14px;background:#3b5bdb;color:#fff}
.parley-status{font-size:12px;opacity:.9}
.parley-status[data-state=online]::before{content:"● ";color:#8ce99a}
.parley-status[data-state=reconnecting]::before,.parley-status[data-state=connecting]::before{content:"● ";color:#ffd43b}
.parley-status[data-state=offline]::before{content:"● ";color:#ff8787}
.parley-log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}
.parley-sources{margin-top:6px;font-size:12px;opacity:.8}.parley-sources a{color:inherit}
.parley-msg{max-width:80%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}
.parley-user{align-self:flex-end;background:#3b5bdb;color:#fff}
.parley-user.parley-pending{opacity:.6}
.parley-draft::after{content:'▍';opacity:.5}
.parley-handoff{font-size:12px;color:#5c6370;padding:0 12px}.parley-handoff:empty{display:none}
.parley-system{font-style:italic;background:none;color:#5c6370}
.parley-callback{display:grid;gap:6px;padding:8px 12px;font-size:13px;border-top:1px solid #e9ecef}.parley-callback[hidden]{display:none}
.parley-callback input{display:block;width:100%;margin-top:4px;padding:6px;border:1px solid #ced4da;border-radius:6px;box-sizing:border-box}
.parley-assistant,.parley-agent,.parley-system{align-self:flex-start;background:#f1f3f5}
.parley-typing{padding:0 14px 6px;font-size:12px;color:#5c636a;min-height:18px}
.parley-error{padding:0 14px 6px;font-size:12px;color:#c92a2a;min-height:0}
.parley-form{display:flex;border-top:1px solid #e9ecef}
.parley-input{flex:1;border:0;padding:12px;font:inherit;outline:none}
.parley-send{border:0;background:none;color:#3b5bdb;font-weight:600;padding:0 14px;cursor:pointer}`;
  const style = document.createElement('style');
  style.textContent = css;
  document.head.appendChild(style);

  const root = document.createElement('div');
  root.className = 'parley-root';
  root.setAttribute('role', 'region');
  root.setAttribute('aria-label', 'Chat');
  root.innerHTML = `
<div class="parley-header"><strong class="parley-title"></strong><span class="parley-status" aria-live="polite"></span></div>
<div class="parley-handoff" aria-live="polite"></div>
<form class="parley-callback" hidden><label>No one from our team is available right now. Leave your phone number or e-mail and we will get back to you.<input class="parley-callback-contact" maxlength="254" autocomplete="tel" placeholder="Phone number or e-mail"></label><button type="submit">Call me back</button></form>
<div class="parley-log" aria-live="polite"></div>
<div class="parley-typing"></div>
<div class="parley-error" role="alert"></div>
<form class="parley-form"><input class="parley-input" maxlength="4000" autocomplete="off" placeholder="Type a message…" aria-label="Message"><button class="parley-send" type="submit">Send</button></form>`;
  root.querySelector('.parley-title').textContent = script.dataset.title || 'Chat with us';
  const container = script.dataset.container && document.querySelector(script.dataset.container);
  if (container) container.appendChild(root);
  else {
    root.classList.add('parley-floating');
    document.body.appendChild(root);
  }
  const log = root.querySelector('.parley-log');
  const statusEl = root.querySelector('.parley-status');
  const handoffEl = root.querySelector('.parley-handoff');
  const callbackForm = root.querySelector('.parley-callback');
  callbackForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const contact = callbackForm.querySelector('input').value.trim();
    if (!contact || !state.ws || state.ws.readyState !== WebSocket.OPEN) return;
    state.ws.send(
      JSON.stringify(
        contact.includes('@')
          ? { type: 'callback', email: contact }
          : { type: 'callback', phone: contact },
      ),
    );
  });
  const typingEl = root.querySelector('.parley-typing');
  const errorEl = root.querySelector('.parley-error');
  const form = root.querySelector('.parley-form');
  const input = root.querySelector('.parley-input');
  let typingTimer = null;

  function setStatus(s) {
    statusEl.dataset.state = s;
    statusEl.textContent = {
      connecting: 'Connecting…',
      online: 'Online',
      reconnecting: 'Reconnecting…',
      offline: 'Offline',
    }[s];
    root.dataset.connection = s;
  }
  function showError(text) {
    errorEl.textContent = text || '';
  }
  function bubble(role, text, attrs) {
    const el = document.createElement('div');
    el.className = `parley-msg parley-${role}`;
    el.textContent = text;
    for (const [k, v] of Object.entries(attrs)) el.dataset[k] = v;
    log.appendChild(el);
    log.scrollTop = log.scrollHeight;
    return el;
  }
  function renderPending(item) {
    if (log.querySelector(`[data-client-message-id="${CSS.escape(item.clientMessageId)}"]`)) return;
    bubble('user', item.text, { clientMessageId: item.clientMessageId }).classList.add(
      'parley-pending',
    );
  }
  /** Drafts of answers being streamed, by the seq of the message they answer. */
  const drafts = new Map();
  function renderDelta(frame) {
    if (log.querySelector(`[data-client-message-id="reply:${frame.replyTo}"]`)) return; // answered
    let draft = drafts.get(frame.replyTo);
    if (!draft) {
      draft = { el: bubble('assistant', '', { draftFor: String(frame.replyTo) }), next: 0 };
      draft.el.classList.add('parley-draft');
      drafts.set(frame.replyTo, draft);
    }
    // A missed piece (live updates are best effort): stop drafting; the stored answer follows.
    if (frame.index !== draft.next) return;
    draft.next++;
    draft.el.textContent += frame.text;
    log.scrollTop = log.scrollHeight;
  }
  /** A streamed answer broke off or was superseded: remove its draft. */
  function dropDraft(replyTo) {
    const draft = drafts.get(replyTo);
    if (draft) draft.el.remove();
    drafts.delete(replyTo);
  }
  function renderStored(m) {
    const answers = /^reply:(\d+)$/.exec(m.clientMessageId);
    if (answers) dropDraft(Number(answers[1]));
    const existing =
      m.role === 'user' &&
      log.querySelector(`[data-client-message-id="${CSS.escape(m.clientMessageId)}"]`);
    if (existing) {
      existing.classList.remove('parley-pending');
      existing.dataset.seq = String(m.seq);
      return;
    }
    const el = bubble(m.role, m.text, { seq: String(m.seq), clientMessageId: m.clientMessageId });
    if (m.role === 'assistant' && Array.isArray(m.sources) && m.sources.length)
      showSources(el, m.sources);
  }
  /** The documents an answer came from, under it: text only, links only to http(s) addresses. */
  function showSources(el, sources) {
    const list = document.createElement('div');
    list.className = 'parley-sources';
    list.append('Sources: ');
    sources.slice(0, 5).forEach((source, i) => {
      if (i > 0) list.append(', ');
      const url =
        typeof source.url === 'string' && /^https?:\/\//i.test(source.url) ? source.url : null;
      const item = document.createElement(url ? 'a' : 'span');
      item.textContent = String(source.title);
      if (url) {
        item.href = url;
        item.target = '_blank';
        item.rel = 'noopener noreferrer';
      }
      list.append(item);
    });
    el.append(list);
  }
  /** Tells the visitor when a person is on the way, or there. */
  function showHandoff(frame) {
    handoffEl.textContent =
      frame.handler === 'agent'
        ? 'You are chatting with a member of our team.'
        : frame.handoff === 'waiting'
          ? 'Waiting for a member of our team to join…'
          : '';
  }
  function setTyping(active) {
    clearTimeout(typingTimer);
    typingEl.textContent = active ? 'Assistant is typing…' : '';
    if (active) typingTimer = setTimeout(() => setTyping(false), 15000);
  }

  // ---- connection ----
  const language = [script.dataset.language, document.documentElement.lang, navigator.language]
    .map((tag) => (tag || '').trim())
    .find((tag) => /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(tag));
  async function openSession() {
    const res = await fetch(`${apiBase}/v1/widget/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        widgetKey,
        ...(state.visitorToken ? { visitorToken: state.visitorToken } : {}),
        ...(state.conversationId ? { conversationId: state.conversationId } : {}),
        ...(language ? { language } : {}),
        ...(script.dataset.customerId && script.dataset.customerSignature
          ? {
              customer: {
                id: script.dataset.customerId,
                signature: script.dataset.customerSignature,
              },
            }
          : {}),
      }),
    });
    const body = await res.json().catch(() => ({}));
    if (res.status === 401 && body.code === 'GW_ERR_VISITOR_TOKEN_INVALID') {
      state.visitorToken = null;
      state.conversationId = null;
      save();
    }
    if (!res.ok) throw Object.assign(new Error(body.message || `HTTP ${res.status}`), body);
    state.visitorToken = body.visitorToken;
    state.conversationId = body.conversationId;
    save();
    return body;
  }

  async function connect() {
    if (state.connecting || (state.ws && state.ws.readyState <= 1)) return;
    state.connecting = true;
    clearTimeout(state.reconnectTimer);
    setStatus(state.attempt === 0 ? 'connecting' : 'reconnecting');
    try {
      const session = await openSession();
      const ws = new WebSocket(
        `${wsBase}${session.websocketPath}?token=${encodeURIComponent(session.sessionToken)}`,
      );
      state.ws = ws;
      ws.onopen = () => {
        state.attempt = 0;
        showError('');
        state.resuming = true; // the next state frame answers this resume
        ws.send(JSON.stringify({ type: 'resume', afterSeq: state.lastSeq }));
        startHeartbeat(ws);
      };
      ws.onmessage = (e) => onFrame(JSON.parse(e.data));
      ws.onclose = () => {
        if (state.ws === ws) state.ws = null;
        state.live = false;
        stopHeartbeat();
        scheduleReconnect();
      };
      ws.onerror = () => ws.close();
    } catch (err) {
      if (
        err &&
        err.code &&
        err.code !== 'GW_ERR_RATE_LIMITED' &&
        err.code !== 'GW_ERR_VISITOR_TOKEN_INVALID'
      )
        showError(err.message);
      scheduleReconnect(err && err.retryAfterMs);
    } finally {
      state.connecting = false;
    }
  }

  function scheduleReconnect(minDelayMs) {
    clearTimeout(state.reconnectTimer);
    setStatus(navigator.onLine === false ? 'offline' : 'reconnecting');
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** state.attempt);
    const delay = Math.max(minDelayMs || 0, Math.random() * cap); // full jitter
    state.attempt = Math.min(state.attempt + 1, 10);
    state.reconnectTimer = setTimeout(connect, delay);
  }

  /** Reconnect now if we are not connected (network back, tab visible again). */
  function reconnectNow() {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) {
      // Still connected (or so it seems): show it, and let a ping prove it.
      if (state.live) setStatus('online');
      checkAlive(state.ws);
      return;
    }
    state.attempt = 0;
    connect();
  }

  function startHeartbeat(ws) {
    stopHeartbeat();
    state.pingTimer = setInterval(() => checkAlive(ws), PING_EVERY_MS);
  }
  /** Pings; no pong within the timeout means a half-open connection: drop it and reconnect. */
  function checkAlive(ws) {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ type: 'ping' }));
    clearTimeout(state.pongTimer);
    state.pongTimer = setTimeout(() => ws.close(), PONG_TIMEOUT_MS);
  }
  function stopHeartbeat() {
    clearInterval(state.pingTimer);
    clearTimeout(state.pongTimer);
  }

  /** The replay is complete: show what is still unsent below the history, and send it. */
  function goLive() {
    state.live = true;
    for (const item of state.outbox) renderPending(item);
    flushOutbox();
  }

  function flushOutbox() {
    const now = Date.now();
    for (const item of state.outbox) {
      if (item.sentAt && now - item.sentAt < RESEND_AFTER_MS && item.ws === state.wsGeneration)
        continue;
      sendFrame(item);
    }
  }
  function sendFrame(item) {
    const ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !state.live) return;
    item.sentAt = Date.now();
    item.ws = state.wsGeneration;
    ws.send(
      JSON.stringify({ type: 'message', clientMessageId: item.clientMessageId, text: item.text }),
    );
  }
  function settle(clientMessageId) {
    const before = state.outbox.length;
    state.outbox = state.outbox.filter((i) => i.clientMessageId !== clientMessageId);
    if (state.outbox.length !== before) save();
  }

  function onFrame(frame) {
    switch (frame.type) {
      case 'state':
        root.dataset.handler = frame.handler;
        root.dataset.status = frame.status;
        showHandoff(frame);
        if (!state.resuming) return; // a live change of state: nothing to replay
        state.resuming = false;
        state.wsGeneration = (state.wsGeneration || 0) + 1;
        state.replayTarget = frame.lastSeq;
        setStatus('online');
        if (state.lastSeq >= state.replayTarget) goLive();
        return;
      case 'message':
        if (frame.seq <= state.lastSeq) return; // already shown
        state.lastSeq = frame.seq;
        if (frame.role === 'user') settle(frame.clientMessageId);
        if (frame.role !== 'user') setTyping(false);
        renderStored(frame);
        save();
        if (!state.live && state.lastSeq >= state.replayTarget) goLive();
        return;
      case 'ack':
        settle(frame.clientMessageId);
        return;
      case 'typing':
        setTyping(frame.active);
        return;
      case 'delta':
        renderDelta(frame);
        return;
      case 'incomplete':
        dropDraft(frame.replyTo);
        return;
      case 'callback_offer':
        callbackForm.hidden = false;
        return;
      case 'callback_saved':
        callbackForm.hidden = true;
        handoffEl.textContent = `Thank you: we will get back to you (ticket ${frame.ticketId}).`;
        return;
      case 'queue':
        if (root.dataset.handler === 'agent') return;
        handoffEl.textContent =
          `Waiting for a member of our team: you are number ${frame.position} in the queue` +
          (frame.estimatedWaitSeconds === null
            ? '.'
            : ` (about ${Math.max(1, Math.round(frame.estimatedWaitSeconds / 60))} min).`);
        return;
      case 'pong':
        clearTimeout(state.pongTimer);
        return;
      case 'error':
        if (frame.code === 'GW_ERR_RATE_LIMITED' || frame.code === 'GW_ERR_UNAVAILABLE') {
          const item = state.outbox.find((i) => i.clientMessageId === frame.clientMessageId);
          if (item) setTimeout(() => sendFrame(item), frame.retryAfterMs || 1000);
        }
        showError(frame.code === 'GW_ERR_RATE_LIMITED' ? 'Slow down a little…' : frame.message);
        return;
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    const item = { clientMessageId: crypto.randomUUID(), text };
    state.outbox.push(item);
    save();
    renderPending(item);
    sendFrame(item);
  });

  setInterval(flushOutbox, RESEND_AFTER_MS);
  window.addEventListener('online', reconnectNow);
  window.addEventListener('offline', () => setStatus('offline'));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') reconnectNow();
  });
  window.addEventListener('pageshow', reconnectNow);

  connect();
})();
