// Election-day board: check-ins arrive over a WebSocket and bump the counters already on the page.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var dot = document.getElementById("live-dot");
  var state = document.getElementById("live-state");
  var feed = document.getElementById("feed");
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/board/" + board.dataset.election + "/";
  var delay = 1000;
  var seen = {};

  function bump(el) {
    var count = parseInt(el.dataset.count || "0", 10) + 1;
    var slots = parseInt(el.dataset.slots || "0", 10);
    el.dataset.count = String(count);
    el.textContent = count + "/" + slots;
    var bar = el.closest("[data-area],[data-place]");
    bar = bar && bar.querySelector('[data-bar="checked_in"]');
    if (bar && slots > 0) bar.style.width = Math.min(100, Math.round((100 * count) / slots)) + "%";
  }

  function onCheckIn(ev) {
    if (seen[ev.assignment_id]) return;
    seen[ev.assignment_id] = true;
    var targets = [];
    (ev.area_ids || []).forEach(function (id) {
      document.querySelectorAll('[data-area="' + id + '"]').forEach(function (n) { targets.push(n); });
    });
    document.querySelectorAll('[data-place="' + ev.place_id + '"]').forEach(function (n) { targets.push(n); });
    document.querySelectorAll('[data-area="all"]').forEach(function (n) { targets.push(n); });
    targets.forEach(function (node) {
      var m = node.querySelector('[data-measure="checked_in"]');
      if (m) bump(m);
    });
    // A late watcher who just arrived no longer needs a replacement.
    var flagged = document.querySelector('[data-testid="flagged"][data-assignment="' + ev.assignment_id + '"]');
    if (flagged) {
      flagged.remove();
      var left = document.getElementById("flagged-count");
      if (left) left.textContent = String(Math.max(0, parseInt(left.textContent, 10) - 1));
    }
    var placeholder = feed.querySelector("[data-placeholder]");
    if (placeholder) placeholder.remove();
    var li = document.createElement("li");
    li.className = "fresh";
    var time = document.createElement("span");
    time.className = "num muted";
    time.textContent = ev.at;
    var who = document.createElement("strong");
    who.textContent = ev.volunteer;
    var where = ev.place_name + (ev.table ? " · " + board.dataset.msgTable + " " + ev.table : " · " + board.dataset.msgGeneral);
    li.append(time, " · ", who, " " + board.dataset.msgArrived + " " + where);
    feed.prepend(li);
  }

  // After a dropped connection, events may have been missed: fetch the page again and take its
  // numbers, feed and flags (the server is the source of truth; the socket only brings news).
  function catchUp() {
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("board");
        if (fresh) board.innerHTML = fresh.innerHTML;
        feed = document.getElementById("feed");
      })
      .catch(function () {});
  }

  // Any other change (a replacement, a notice, a decline) re-reads the page, at most every 2 s; and
  // once a minute anyway, since a watcher becomes late by the clock alone.
  var pending = null;
  function soon() {
    if (pending) return;
    pending = setTimeout(function () { pending = null; catchUp(); }, 2000);
  }
  setInterval(catchUp, 60000);

  var everConnected = false;

  function connect() {
    var ws = new WebSocket(url);
    ws.onopen = function () {
      if (everConnected) catchUp();
      everConnected = true;
      delay = 1000;
      dot.classList.add("on");
      state.textContent = board.dataset.msgLive;
    };
    ws.onmessage = function (msg) {
      var ev = JSON.parse(msg.data);
      if (ev.type === "check_in") onCheckIn(ev);
      if (ev.type === "changed") soon();
    };
    ws.onclose = function (e) {
      dot.classList.remove("on");
      state.textContent = board.dataset.msgOff;
      if (e.code === 4403) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
