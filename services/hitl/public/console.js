/*
 * The Parley agent console: plain DOM, no framework. Every piece of text from
 * users, agents or the server is set with textContent, never as HTML.
 */
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const state = {
    token: sessionStorage.getItem('parley.agent.token'),
    agent: JSON.parse(sessionStorage.getItem('parley.agent') || 'null'),
    queued: [],
    mine: [],
    open: null, // conversation id shown on the right
    detail: null,
    events: null,
  };

  async function api(path, { method = 'GET', body } = {}) {
    const res = await fetch(path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(state.token ? { authorization: `Bearer ${state.token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const data = await res.json().catch(() => ({}));
    if (res.status === 401 && path !== '/v1/agent/sessions') signOut();
    if (!res.ok) throw Object.assign(new Error(data.message || `HTTP ${res.status}`), data);
    return data;
  }

  // ---- sign-in ----
  $('sign-in').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    $('sign-in-error').textContent = '';
    try {
      const data = await api('/v1/agent/sessions', {
        method: 'POST',
        body: {
          tenantId: form.get('tenantId'),
          email: form.get('email'),
          password: form.get('password'),
        },
      });
      state.token = data.token;
      state.agent = data.agent;
      sessionStorage.setItem('parley.agent.token', data.token);
      sessionStorage.setItem('parley.agent', JSON.stringify(data.agent));
      start();
    } catch (err) {
      $('sign-in-error').textContent = err.message;
    }
  });
  $('sign-out').addEventListener('click', signOut);
  function signOut() {
    sessionStorage.removeItem('parley.agent.token');
    sessionStorage.removeItem('parley.agent');
    state.token = null;
    state.events?.close();
    clearTimeout(state.relisten);
    $('desk').hidden = true;
    $('sign-in').hidden = false;
  }

  function start() {
    $('sign-in').hidden = true;
    $('desk').hidden = false;
    $('agent-name').textContent = state.agent.name;
    listen();
    refreshQueue();
  }

  // ---- live updates (server-sent events) ----
  // The stream's URL carries a one-use ticket (never the agent's token): each
  // (re)connection asks for a new one.
  let listening = 0;
  async function listen() {
    const attempt = ++listening;
    state.events?.close();
    clearTimeout(state.relisten);
    let ticket;
    try {
      ({ ticket } = await api('/v1/agent/events/tickets', { method: 'POST', body: {} }));
    } catch {
      if (state.token && attempt === listening) state.relisten = setTimeout(listen, 3000);
      return;
    }
    if (attempt !== listening || !state.token) return;
    const query = new URLSearchParams({ ticket });
    if (state.open) query.set('conversation', state.open);
    const events = new EventSource(`/v1/agent/events?${query}`);
    state.events = events;
    events.addEventListener('ready', () => ($('live').textContent = 'live'));
    events.addEventListener('queue', () => refreshQueue());
    events.addEventListener('conversation', (e) => {
      const update = JSON.parse(e.data);
      if (update.kind === 'message' || update.kind === 'state') refreshDetail();
    });
    events.onerror = () => {
      $('live').textContent = 'reconnecting…';
      // The browser's own retry would present the used ticket again: reconnect with a new one.
      events.close();
      if (attempt === listening && state.token) state.relisten = setTimeout(listen, 2000);
    };
  }

  // ---- queues ----
  async function refreshQueue() {
    try {
      const [data, callbacks] = await Promise.all([
        api('/v1/agent/queue'),
        api('/v1/agent/callbacks'),
      ]);
      state.queued = data.queued;
      state.queues = data.queues;
      state.mine = data.mine;
      state.callbacks = callbacks.callbacks;
      renderLists();
    } catch (err) {
      $('error').textContent = err.message;
    }
  }
  function item(handoff, mine) {
    const li = document.createElement('li');
    li.tabIndex = 0;
    li.dataset.conversationId = handoff.conversationId;
    li.dataset.handoffId = handoff.id;
    li.className = `reason-${handoff.reason}`;
    li.setAttribute('aria-current', String(handoff.conversationId === state.open));
    const title = document.createElement('div');
    const where = [handoff.queue, handoff.language].filter(Boolean).join(' · ');
    title.textContent = mine ? `Your conversation · ${where}` : `#${handoff.position} in ${where}`;
    const reason = document.createElement('div');
    reason.className = 'reason';
    reason.textContent = `${handoff.reason.replaceAll('_', ' ')} · since ${new Date(handoff.requestedAt).toLocaleTimeString()}`;
    li.append(title, reason);
    // Waited past the tenant's SLA: escalated once, moved ahead, and marked for whoever looks.
    if (handoff.escalatedAt && handoff.status === 'queued') {
      const badge = document.createElement('div');
      badge.className = 'escalated';
      badge.textContent = `Escalated: waiting past the SLA since ${new Date(handoff.escalatedAt).toLocaleTimeString()}`;
      li.classList.add('is-escalated');
      li.append(badge);
    }
    li.addEventListener('click', () => openConversation(handoff.conversationId));
    li.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') openConversation(handoff.conversationId);
      if (e.key === 'ArrowDown') li.nextElementSibling?.focus();
      if (e.key === 'ArrowUp') li.previousElementSibling?.focus();
    });
    return li;
  }
  function renderLists() {
    $('mine').replaceChildren(...state.mine.map((h) => item(h, true)));
    $('queue').replaceChildren(...state.queued.map((h) => item(h, false)));
    $('waiting-count').textContent = `(${state.queued.length})`;
    const open = (state.callbacks || []).filter((c) => c.status === 'open');
    $('callback-count').textContent = `(${open.length})`;
    $('callbacks').replaceChildren(
      ...open.map((c) => {
        const li = document.createElement('li');
        li.tabIndex = 0;
        const who = document.createElement('div');
        who.textContent = `${c.id} · ${c.contactKind === 'phone' ? '☎' : '✉'} ${c.contact}`;
        const when = document.createElement('div');
        when.className = 'reason';
        when.textContent = `since ${new Date(c.createdAt).toLocaleString()}${c.note ? ` · ${c.note}` : ''}`;
        const done = document.createElement('button');
        done.type = 'button';
        done.textContent = 'Done';
        done.addEventListener('click', async (e) => {
          e.stopPropagation();
          await api(`/v1/agent/callbacks/${encodeURIComponent(c.id)}/done`, {
            method: 'POST',
            body: {},
          });
          refreshQueue();
        });
        li.append(who, when, done);
        li.addEventListener('click', () => openConversation(c.conversationId));
        return li;
      }),
    );
  }

  // ---- one conversation ----
  async function openConversation(conversationId) {
    state.open = conversationId;
    listen();
    renderLists();
    await refreshDetail();
    $('text').focus();
  }
  async function refreshDetail() {
    if (!state.open) return;
    try {
      state.detail = await api(`/v1/agent/conversations/${encodeURIComponent(state.open)}`);
      renderDetail();
    } catch (err) {
      $('error').textContent = err.message;
    }
  }
  function renderDetail() {
    const { conversation, handoff, messages, summary } = state.detail;
    $('summary').textContent = summary;
    $('empty').hidden = true;
    $('detail').hidden = false;
    $('reason').textContent = handoff
      ? `Reason: ${handoff.reason.replaceAll('_', ' ')} · queue ${handoff.queue}${handoff.language ? ` · language ${handoff.language}` : ''}`
      : 'No open handoff';
    const mine = handoff && handoff.status === 'assigned' && handoff.agentId === state.agent.id;
    $('holder').textContent =
      conversation.handler === 'agent'
        ? mine
          ? 'You hold this conversation'
          : 'Held by another agent'
        : 'The assistant holds this conversation';
    $('accept').hidden = !(handoff && handoff.status === 'queued');
    $('close').hidden = !mine;
    $('transfer').hidden = !mine;
    if (mine) fillTransferTargets();
    $('reply').hidden = !(mine || (handoff && handoff.status === 'queued'));
    const list = $('transcript');
    list.replaceChildren(
      ...messages.map((m) => {
        const li = document.createElement('li');
        li.className = m.role;
        li.dataset.seq = String(m.seq);
        li.textContent = m.text; // never innerHTML
        li.title = `${m.role} · ${new Date(m.createdAt).toLocaleString()}`;
        return li;
      }),
    );
    list.scrollTop = list.scrollHeight;
  }

  $('accept').addEventListener('click', accept);
  async function accept() {
    const handoff = state.detail?.handoff;
    if (!handoff) return;
    $('error').textContent = '';
    try {
      await api(`/v1/agent/handoffs/${encodeURIComponent(handoff.id)}/accept`, {
        method: 'POST',
        body: {},
      });
      await Promise.all([refreshDetail(), refreshQueue()]);
    } catch (err) {
      $('error').textContent =
        err.code === 'HITL_ERR_TAKEN' ? 'Another agent accepted it first.' : err.message;
      await refreshQueue();
    }
  }
  $('close').addEventListener('click', closeHandoff);
  async function closeHandoff() {
    const handoff = state.detail?.handoff;
    if (!handoff) return;
    try {
      await api(`/v1/agent/handoffs/${encodeURIComponent(handoff.id)}/close`, {
        method: 'POST',
        body: {},
      });
      await Promise.all([refreshDetail(), refreshQueue()]);
    } catch (err) {
      $('error').textContent = err.message;
    }
  }

  /** Other agents (present ones marked) and the queues, as transfer targets. */
  async function fillTransferTargets() {
    const { agents } = await api('/v1/agent/agents');
    const options = [new Option('Transfer to…', '')];
    for (const a of agents)
      if (a.id !== state.agent.id)
        options.push(
          new Option(
            `${a.name}${a.present ? ' (online)' : ''} · ${a.held}/${a.maxConcurrent}`,
            `agent:${a.id}`,
          ),
        );
    for (const q of state.queues || ['general'])
      options.push(new Option(`Queue: ${q}`, `queue:${q}`));
    $('transfer').replaceChildren(...options);
  }
  $('transfer').addEventListener('change', async (e) => {
    const value = e.target.value;
    const handoff = state.detail?.handoff;
    if (!value || !handoff) return;
    const [kind, target] = [
      value.slice(0, value.indexOf(':')),
      value.slice(value.indexOf(':') + 1),
    ];
    try {
      await api(`/v1/agent/handoffs/${encodeURIComponent(handoff.id)}/transfer`, {
        method: 'POST',
        body: kind === 'agent' ? { toAgentId: target } : { toQueue: target },
      });
      await Promise.all([refreshDetail(), refreshQueue()]);
    } catch (err) {
      $('error').textContent = err.message;
    }
  });

  $('canned').addEventListener('change', (e) => {
    if (e.target.value) $('text').value = e.target.value;
    e.target.value = '';
    $('text').focus();
  });
  $('text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      closeHandoff();
    } else if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      $('reply').requestSubmit();
    }
  });
  document.addEventListener('keydown', (e) => {
    if (
      e.key === 'a' &&
      document.activeElement?.tagName !== 'TEXTAREA' &&
      document.activeElement?.tagName !== 'INPUT' &&
      !$('accept').hidden
    )
      accept();
  });
  $('reply').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('text').value;
    if (!text.trim() || !state.open) return;
    $('error').textContent = '';
    // The same reply sent again after a failure keeps its id: if the first
    // attempt did arrive, the conversation still shows it once.
    const pending = state.pendingReply;
    const id =
      pending && pending.conversation === state.open && pending.text === text
        ? pending.id
        : crypto.randomUUID();
    state.pendingReply = { conversation: state.open, text, id };
    try {
      await api(`/v1/agent/conversations/${encodeURIComponent(state.open)}/messages`, {
        method: 'POST',
        body: { clientMessageId: id, text },
      });
      state.pendingReply = undefined;
      $('text').value = '';
    } catch (err) {
      $('error').textContent = err.message;
    }
  });

  if (state.token && state.agent) start();
})();
