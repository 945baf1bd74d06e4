// The live progress of a rebuild page (templates/operator_rebuild.html): polls the rebuild's
// JSON every second and updates the page until the rebuild ends. Without this script the
// page shows the same figures, current as of each reload.
(function () {
  "use strict";
  var box = document.getElementById("rebuild");
  if (!box || box.getAttribute("data-finished") === "true") return;
  var url = box.getAttribute("data-status-url");
  var set = function (id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== text) el.textContent = text;
  };
  var tick = function () {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        if (!res.ok) throw new Error("status " + res.status);
        return res.json();
      })
      .then(function (v) {
        set("rebuild-done", v.progress);
        set("rebuild-rate", v.rate);
        set("rebuild-eta", v.eta);
        var bar = document.getElementById("rebuild-progress");
        if (bar) { bar.value = v.percent; bar.textContent = v.percent.toFixed(1) + "%"; }
        if (v.finished) {
          set("rebuild-finished", v.finished_at || "");
          set("rebuild-state", v.promoted ? "Promoted: version " + v.to_version + " is live."
            : "Ended: " + v.state + (v.error ? " (" + v.error + ")" : "") + ".");
          box.setAttribute("data-finished", "true");
          return;
        }
        set("rebuild-state", v.state);
        setTimeout(tick, 1000);
      })
      .catch(function () {
        set("rebuild-state", "Progress unavailable: reload the page.");
      });
  };
  setTimeout(tick, 500);
})();
