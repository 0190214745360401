// The watcher's result sheet: totals check themselves as they are typed, and the photo is
// resized on the phone (longest side 1600 px, JPEG) before it is uploaded.
(function () {
  "use strict";
  var MAX_SIDE = 1600;

  function value(input) {
    var n = parseInt(input.value, 10);
    return isNaN(n) ? null : n;
  }

  function check(form) {
    var out = form.querySelector("[data-check]");
    var sum = 0;
    form.querySelectorAll("[data-part]").forEach(function (i) { sum += value(i) || 0; });
    var voters = value(form.querySelector("[data-voters]"));
    var electors = parseInt(form.dataset.electors, 10);
    var parts = [];
    var bad = false;
    if (!isNaN(electors) && Math.max(sum, voters || 0) > electors) {
      parts.push(form.dataset.msgOver + " (" + electors + ")");
      bad = true;
    }
    if (voters === null) {
      parts.push(form.dataset.msgSum + ": " + sum);
    } else if (sum === voters && !bad) {
      parts.push(form.dataset.msgOk);
    } else if (sum !== voters) {
      parts.push(form.dataset.msgSum + " " + sum + " ≠ " + voters + " " + form.dataset.msgVoters);
      bad = true;
    }
    out.textContent = parts.join(" · ");
    out.className = "check " + (bad ? "bad" : voters === null ? "" : "ok");
  }

  function resized(file) {
    return new Promise(function (resolve) {
      if (!file || !file.type || file.type.indexOf("image/") !== 0 || !window.createImageBitmap) return resolve(file);
      createImageBitmap(file).then(function (bitmap) {
        var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
        if (scale === 1 && file.size < 1500000) return resolve(file);
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) { resolve(blob ? new File([blob], "acta.jpg", { type: "image/jpeg" }) : file); }, "image/jpeg", 0.85);
      }, function () { resolve(file); });
    });
  }

  document.querySelectorAll("form.sheet").forEach(function (form) {
    form.addEventListener("input", function () { check(form); });
    check(form);
    form.addEventListener("submit", function (event) {
      var input = form.querySelector('input[type="file"]');
      if (!input || !input.files.length || !window.fetch) return;  // nothing to resize: a plain post
      event.preventDefault();
      resized(input.files[0]).then(function (photo) {
        var data = new FormData(form);
        data.set("photo", photo, photo.name || "acta.jpg");
        return fetch(form.action, { method: "POST", body: data, credentials: "same-origin" });
      }).then(function (response) {
        // The redirect was followed already and its page carries the one-time message: show that
        // page (fetching it again would lose the message).
        return response.text().then(function (html) {
          history.replaceState(null, "", response.url || location.href);
          document.open();
          document.write(html);
          document.close();
        });
      }, function () { form.submit(); });
    });
  });
})();
