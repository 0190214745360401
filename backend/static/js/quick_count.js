// Quick count: every `count` event over the board's WebSocket re-reads the numbers (a fragment of
// this page; the server is the source of truth). Bursts are folded into one read per second.
(function () {
  "use strict";
  var box = document.getElementById("quick-count");
  if (!box) return;
  var dot = document.getElementById("live-dot");
  var state = document.getElementById("live-state");
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/board/" + box.dataset.election + "/";
  var delay = 1000;
  var pending = null;

  function refresh() {
    pending = null;
    var target = new URL(location.href);
    target.searchParams.set("fragmento", "1");
    fetch(target, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (html !== null) box.innerHTML = html;
    });
  }

  function schedule() {
    if (!pending) pending = setTimeout(refresh, 1000);
  }

  function connect() {
    var socket = new WebSocket(url);
    socket.onopen = function () {
      delay = 1000;
      if (dot) dot.classList.add("on");
      if (state) state.textContent = box.dataset.msgLive;
      refresh();  // anything missed while disconnected
    };
    socket.onmessage = function (message) {
      var ev = JSON.parse(message.data);
      if (ev.type === "count") schedule();
    };
    socket.onclose = function () {
      if (dot) dot.classList.remove("on");
      if (state) state.textContent = box.dataset.msgOff;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
