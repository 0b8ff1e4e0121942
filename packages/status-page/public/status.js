// Parley's status page: polls /status.json and renders it again. Every text
// goes in through textContent, never as markup.
(function () {
  'use strict';
  var root = document.getElementById('status');
  if (!root) return;
  var pollMs = Math.max(2, Number(root.getAttribute('data-poll-seconds')) || 15) * 1000;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clock(iso) {
    return iso.slice(0, 10) + ' ' + iso.slice(11, 19) + ' UTC';
  }

  function setStale(text) {
    var stale = document.getElementById('stale');
    stale.textContent = text || '';
    stale.hidden = !text;
  }

  function render(doc) {
    var overall = document.getElementById('overall');
    overall.setAttribute('data-state', doc.overall);
    overall.textContent = doc.overallText;

    var level = document.getElementById('level');
    level.setAttribute('data-level', doc.level ? doc.level.level : '');
    level.textContent = doc.level
      ? 'Assistant: ' + doc.level.text + ' (' + doc.level.level + ')'
      : 'Assistant: no data';
    setStale(doc.stale ? 'Some of this is the last known state: live updates are delayed.' : '');

    var list = el('ul', { id: 'components' });
    doc.components.forEach(function (c) {
      var item = el('li', { class: 'component', 'data-component': c.id, 'data-state': c.state });
      if (c.stale) item.setAttribute('data-stale', 'true');
      item.appendChild(el('span', { class: 'name' }, c.name));
      item.appendChild(el('span', { class: 'state' }, c.stateText));
      if (c.detail) item.appendChild(el('span', { class: 'detail' }, c.detail));
      list.appendChild(item);
    });
    document.getElementById('components').replaceWith(list);

    var incidents = el('div', { id: 'incidents' });
    doc.incidents.forEach(function (i) {
      var article = el('article', {
        class: 'incident',
        'data-incident': i.id,
        'data-status': i.status,
      });
      article.appendChild(el('h3', {}, i.title));
      var meta = el('p', { class: 'meta' });
      meta.appendChild(el('span', { class: 'status' }, i.statusText));
      if (i.components.length)
        meta.appendChild(document.createTextNode(' · affects ' + i.components.join(', ')));
      article.appendChild(meta);
      var updates = el('ol', { class: 'updates' });
      i.updates.forEach(function (u) {
        var item = el('li', { 'data-status': u.status });
        item.appendChild(el('time', { datetime: u.at }, clock(u.at)));
        item.appendChild(document.createTextNode(' '));
        item.appendChild(el('strong', {}, u.statusText));
        item.appendChild(el('p', { class: 'text' }, u.text));
        updates.appendChild(item);
      });
      article.appendChild(updates);
      incidents.appendChild(article);
    });
    document.getElementById('incidents').replaceWith(incidents);
    document.getElementById('no-incidents').hidden = doc.incidents.length > 0;

    var updated = document.getElementById('updated');
    updated.setAttribute('datetime', doc.updatedAt);
    updated.textContent = clock(doc.updatedAt);
  }

  function poll() {
    fetch('/status.json', { cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (res) {
        if (!res.ok) throw new Error('status ' + res.status);
        return res.json();
      })
      .then(render)
      .catch(function () {
        setStale('Cannot reach the status service right now; this is the last update received.');
      })
      .then(function () {
        setTimeout(poll, pollMs);
      });
  }
  setTimeout(poll, pollMs);
})();
