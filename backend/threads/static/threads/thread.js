/* Station thread: live messages over a WebSocket, catch-up by last id, reconnect with backoff.
   Without JavaScript the page still works: the form posts and the page reloads. */
(function () {
  "use strict";
  var root = document.getElementById("thread");
  if (!root || !window.WebSocket || root.getAttribute("data-live") !== "1") { return; }
  var list = document.getElementById("messages");
  var statusEl = document.getElementById("status");
  var form = document.getElementById("post-form");
  var textarea = document.getElementById("body");
  var announce = document.getElementById("announcement");
  var liveError = document.getElementById("live-error");
  var t = function (k) { return root.getAttribute("data-t-" + k) || k; };
  var lastId = parseInt(root.getAttribute("data-last-id") || "0", 10);
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
    "/ws/threads/" + root.getAttribute("data-place") + "/";
  var ws = null, ready = false, delay = 1000, retry = null, pingTimer = null, readTimer = null, stopped = false;
  var pending = {}, seq = 0;

  function setStatus(state) {
    statusEl.textContent = t(state);
    statusEl.className = "status" + (state === "online" ? " online" : "");
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text) { e.textContent = text; }
    return e;
  }

  function render(m) {
    var li = el("li", "msg" + (m.announcement ? " announcement" : "") + (m.hidden ? " hidden-msg" : ""));
    li.setAttribute("data-id", m.id);
    var meta = el("div", "meta");
    meta.appendChild(el("strong", "", m.author));
    var time = el("time", "", m.time || "");
    time.setAttribute("datetime", m.created_at);
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(time);
    if (m.announcement) { meta.appendChild(el("span", "tag", t("announcement"))); }
    if (m.source === "sms") { meta.appendChild(el("span", "tag sms", t("sms"))); }
    if (m.hidden) { meta.appendChild(el("span", "tag", t("hidden"))); }
    li.appendChild(meta);
    li.appendChild(el("div", "body", m.body));
    (m.attachments || []).forEach(function (a) {
      var img = document.createElement("img");
      img.className = "photo";
      img.src = a.url;
      img.alt = "";
      img.loading = "lazy";
      li.appendChild(img);
    });
    return li;
  }

  function find(id) { return list.querySelector('li[data-id="' + id + '"]'); }

  function add(m) {
    if (find(m.id)) { return; }
    var empty = list.querySelector("li.empty");
    if (empty) { list.removeChild(empty); }
    var atBottom = window.innerHeight + window.scrollY >= document.body.offsetHeight - 80;
    // Keep id order even when a message arrives late.
    var items = list.querySelectorAll("li[data-id]"), before = null;
    for (var i = items.length - 1; i >= 0; i--) {
      if (parseInt(items[i].getAttribute("data-id"), 10) < m.id) { break; }
      before = items[i];
    }
    list.insertBefore(render(m), before);
    if (m.id > lastId) { lastId = m.id; }
    if (atBottom) { window.scrollTo(0, document.body.scrollHeight); }
    scheduleRead();
  }

  function update(m) {
    var old = find(m.id);
    if (!old) { return; }
    if (m.hidden && !m.body) { list.removeChild(old); return; }
    list.replaceChild(render(m), old);
  }

  function send(obj) { if (ws && ready) { ws.send(JSON.stringify(obj)); return true; } return false; }

  function scheduleRead() {
    if (readTimer || document.visibilityState === "hidden") { return; }
    readTimer = setTimeout(function () { readTimer = null; send({ type: "read", last_id: lastId }); }, 1500);
  }

  function connect() {
    retry = null;
    setStatus(navigator.onLine === false ? "offline" : "connecting");
    // The last id rides in the URL: the server catches up on its own, no hello round.
    try { ws = new WebSocket(url + "?last_id=" + lastId); } catch (e) { schedule(); return; }
    ws.onmessage = function (e) {
      var d;
      try { d = JSON.parse(e.data); } catch (err) { return; }
      if (d.type === "message") { add(d.message); }
      else if (d.type === "ready") {
        // A server that did not take the URL's last id waits for hello.
        if (d.resumes_from === undefined) { ws.send(JSON.stringify({ type: "hello", last_id: lastId })); }
      }
      else if (d.type === "message.updated") { update(d.message); }
      else if (d.type === "caught_up") { ready = true; delay = 1000; setStatus("online"); }
      else if (d.type === "ack") {
        if (pending[d.client_id]) { delete pending[d.client_id]; }
      } else if (d.type === "error") {
        liveError.textContent = d.message; liveError.hidden = false;
        if (d.client_id && pending[d.client_id] !== undefined) {
          if (!textarea.value) { textarea.value = pending[d.client_id]; }
          delete pending[d.client_id];
        }
      }
    };
    ws.onclose = function (e) {
      ws = null; ready = false;
      if (e.code === 4403) { stopped = true; statusEl.textContent = t("removed"); statusEl.className = "status"; return; }
      setStatus("offline");
      schedule();
    };
  }

  function schedule() {
    if (retry || stopped) { return; }
    // Exponential backoff with jitter, so a thousand phones do not come back in the same second.
    retry = setTimeout(connect, delay + Math.random() * delay * 0.5);
    delay = Math.min(delay * 2, 30000);
  }

  if (form && textarea) {
    form.addEventListener("submit", function (ev) {
      var body = textarea.value.trim();
      if (!body || !ready) { return; } // offline: the form posts the classic way
      ev.preventDefault();
      var id = "c" + (++seq);
      pending[id] = body;
      liveError.hidden = true;
      send({ type: "post", body: body, client_id: id, announcement: !!(announce && announce.checked) });
      textarea.value = "";
      if (announce) { announce.checked = false; }
    });
  }

  window.addEventListener("online", function () {
    if (!ws && !stopped) { clearTimeout(retry); retry = null; delay = 1000; connect(); }
  });
  window.addEventListener("offline", function () { setStatus("offline"); if (ws) { ws.close(); } });
  document.addEventListener("visibilitychange", scheduleRead);
  pingTimer = setInterval(function () { send({ type: "ping" }); }, 25000);
  window.scrollTo(0, document.body.scrollHeight);
  connect();
})();
