// Coverage pages: any change of a slot in the election (assigned, notified, confirmed, checked in...)
// re-reads the page's #live region, at most every 2 s, and once a minute anyway.
(function () {
  "use strict";
  var region = document.getElementById("live");
  if (!region) return;
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/board/" + region.dataset.election + "/";
  var delay = 1000;
  var pending = null;

  function refresh() {
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (fresh) region.innerHTML = fresh.innerHTML;
      })
      .catch(function () {});
  }

  function soon() {
    if (pending) return;
    pending = setTimeout(function () { pending = null; refresh(); }, 2000);
  }

  function connect() {
    var ws = new WebSocket(url);
    ws.onopen = function () { delay = 1000; };
    ws.onmessage = function () { soon(); };
    ws.onclose = function (e) {
      if (e.code === 4403) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  setInterval(refresh, 60000);
  connect();
})();
