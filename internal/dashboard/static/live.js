// handoff dashboard: live updates. The pages read without it.
"use strict";
(function () {
  var table = document.getElementById("tasks");
  var task = document.getElementById("task");
  if (!table && !task) return;

  function listen(onTask) {
    if (!window.EventSource) return;
    var es = new EventSource("/events");
    // Once listening (again), read what changed since the page was drawn.
    es.addEventListener("open", function () { onTask(null); });
    es.addEventListener("task", function (ev) {
      try { onTask(JSON.parse(ev.data)); } catch (e) { /* a malformed event changes nothing */ }
    });
  }

  if (table) {
    var pending = false, again = false;
    var refresh = function () {
      if (pending) { again = true; return; }
      pending = true;
      fetch(table.dataset.rows, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          var body = table.tBodies[0];
          var before = {};
          Array.prototype.forEach.call(body.rows, function (tr) { before[tr.id] = tr.dataset.state; });
          var focused = document.activeElement && document.activeElement.closest("tr") ? document.activeElement.closest("tr").id : null;
          body.innerHTML = html;
          Array.prototype.forEach.call(body.rows, function (tr) {
            if (tr.id && before[tr.id] !== tr.dataset.state) tr.classList.add("changed");
          });
          if (focused) {
            var row = document.getElementById(focused);
            var link = row && row.querySelector("a, button");
            if (link) link.focus();
          }
        })
        .catch(function () { /* the next change tries again */ })
        .then(function () {
          pending = false;
          if (again) { again = false; refresh(); }
        });
    };
    listen(refresh);
    var note = document.getElementById("live-note");
    if (note) note.textContent += " Live: changes appear as they happen.";
  }

  if (task) {
    var id = task.dataset.task;
    var log = document.getElementById("task-log");
    var live = task.dataset.live === "true";
    var done = function (state) {
      return state === "COMPLETED" || state === "FAILED" || state === "CANCELLED";
    };
    listen(function (st) {
      if (!st || st.task_id !== id) return;
      var el = document.getElementById("task-state");
      if (el && el.textContent !== st.status) {
        el.textContent = st.status;
        el.className = "state " + st.status;
      }
      if (live && done(st.status)) {
        // The verdict is drawn by the server: read the page again.
        window.location.reload();
      }
    });
    if (live && log) {
      var poll = function () {
        fetch(log.dataset.src + "?from=" + log.dataset.size, { credentials: "same-origin", cache: "no-store" })
          .then(function (r) {
            if (done(r.headers.get("X-Task-State"))) { window.location.reload(); return; }
            var size = r.headers.get("X-Log-Size");
            return r.text().then(function (text) {
              if (size !== null && Number(size) < Number(log.dataset.size)) log.textContent = "";
              if (text) {
                var atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
                log.textContent += text;
                if (atEnd) log.scrollTop = log.scrollHeight;
              }
              if (size !== null) log.dataset.size = size;
            });
          })
          .catch(function () {})
          .then(function () { setTimeout(poll, 1000); });
      };
      setTimeout(poll, 1000);
    }
  }
})();
