// xsell preview: live reload and the small conveniences of the campaign page.
// The server sends `reload` after every change of the workspace;
// the message part (#view) is fetched again, or the whole page when it has none.
(function () {
  "use strict";

  function fitFrames(root) {
    root.querySelectorAll("iframe").forEach(function (frame) {
      frame.addEventListener("load", function () {
        try {
          var doc = frame.contentDocument;
          if (doc && doc.documentElement) {
            frame.style.height = Math.max(400, doc.documentElement.scrollHeight) + "px";
          }
        } catch (e) { /* not ours to measure */ }
      });
    });
  }

  function wireTestSend(root) {
    var form = root.querySelector("#send-test");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var result = root.querySelector("#send-result");
      result.textContent = "Sending…";
      fetch(form.action, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(form)).toString()
      }).then(function (response) {
        return response.text().then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var notice = holder.querySelector(".notice");
          result.textContent = notice ? notice.textContent : html;
          result.className = response.ok ? "sent" : "not-sent";
        });
      }).catch(function (error) {
        result.textContent = "Not sent: " + error;
        result.className = "not-sent";
      });
    });
  }

  function refresh() {
    var view = document.getElementById("view");
    if (!view) {
      window.location.reload();
      return;
    }
    fetch(view.dataset.src, { cache: "no-store" }).then(function (response) {
      return response.text();
    }).then(function (html) {
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var fresh = holder.querySelector("#view");
      if (!fresh) {
        window.location.reload();
        return;
      }
      // Two quick changes mean two fetches in flight: never let the older answer win.
      var current = document.getElementById("view");
      if (Number(fresh.dataset.generation) < Number(current.dataset.generation)) return;
      current.replaceWith(fresh);
      fitFrames(fresh);
      wireTestSend(fresh);
      document.body.dataset.generation = fresh.dataset.generation;
    });
  }

  // The server says `reload N` over a WebSocket after every change; if the
  // connection drops (the server restarts), try again, and refresh once back.
  function listen(live, attempt) {
    var socket = new WebSocket("ws://" + window.location.host + "/events");
    socket.addEventListener("open", function () {
      live.classList.add("connected");
      if (attempt > 0) refresh();
      attempt = 0;
    });
    socket.addEventListener("message", function (event) {
      if (String(event.data).indexOf("reload") === 0) refresh();
    });
    socket.addEventListener("close", function () {
      live.classList.remove("connected");
      setTimeout(function () { listen(live, attempt + 1); }, Math.min(5000, 250 * (attempt + 1)));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    fitFrames(document);
    wireTestSend(document);
    listen(document.getElementById("live"), 0);
  });
})();
