// Election day at the tables (day board, a school, the incident board): any table report, incident
// or check-in in the user's scope makes the page re-read itself (the server is the source of truth;
// the socket only says "something changed"). At most one re-read per second; never while the user
// is typing in one of the page's forms (it waits until they leave the field).
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var dot = document.getElementById("live-dot");
  var state = document.getElementById("live-state");
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/board/" + board.dataset.election + "/";
  var placeId = board.dataset.place ? parseInt(board.dataset.place, 10) : null;
  var delay = 1000;
  var pending = null;
  var last = 0;

  function typing() {
    var el = document.activeElement;
    return el && board.contains(el) && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
  }

  function refresh() {
    if (typing()) { pending = setTimeout(refresh, 1000); return; }
    pending = null;
    last = Date.now();
    fetch(location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("board");
        if (fresh) {
          board.innerHTML = fresh.innerHTML;
          board.dataset.refreshed = String(Date.now());
        }
      })
      .catch(function () {});
  }

  function soon() {
    if (pending) return;
    pending = setTimeout(refresh, Math.max(0, 1000 - (Date.now() - last)) || 50);
  }
  setInterval(soon, 60000); // places become late by the clock alone

  function relevant(ev) {
    if (placeId === null) return true;
    return ev.place_id === placeId || ev.type === "changed";
  }

  function connect() {
    var ws = new WebSocket(url);
    ws.onopen = function () {
      delay = 1000;
      dot.classList.add("on");
      state.textContent = board.dataset.msgLive;
    };
    ws.onmessage = function (msg) {
      var ev = JSON.parse(msg.data);
      if (ev.type === "error") return;
      if (relevant(ev)) soon();
    };
    ws.onclose = function (e) {
      dot.classList.remove("on");
      state.textContent = board.dataset.msgOff;
      if (e.code === 4403) return;
      setTimeout(function () { connect(); soon(); }, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
