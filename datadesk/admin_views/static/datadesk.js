// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Key inputs of big references get suggestions from the referenced table's lookup endpoint.
  function attachLookup(input) {
    var table = input.getAttribute("data-lookup");
    var base = document.querySelector("[data-admin-base]");
    var root = base ? base.getAttribute("data-admin-base") : "/admin";
    var list = document.createElement("datalist");
    list.id = "dd-lookup-" + input.name;
    input.setAttribute("list", list.id);
    input.parentNode.appendChild(list);
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch(root + "/" + table + "/lookup?q=" + encodeURIComponent(input.value), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (rows) {
            list.innerHTML = "";
            rows.forEach(function (row) {
              var opt = document.createElement("option");
              opt.value = row.key;
              opt.label = row.label;
              opt.textContent = row.label;
              list.appendChild(opt);
            });
          });
      }, 200);
    });
  }
  // Long runs (imports): submit in the background and show the rows read so far.
  function attachProgress(form) {
    var status = form.querySelector(".dd-progress");
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.FormData) { return; }
      event.preventDefault();
      var buttons = form.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      if (status) { status.hidden = false; status.textContent = "Working…"; }
      var poll = setInterval(function () {
        fetch(form.getAttribute("data-dd-progress"), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : {}; })
          .then(function (data) {
            if (status && typeof data.rows === "number") {
              status.textContent = "Working… " + data.rows.toLocaleString() + " rows read";
            }
          })
          .catch(function () {});
      }, 700);
      fetch(form.getAttribute("action") || window.location.href, {
        method: "POST", body: new FormData(form), credentials: "same-origin"
      }).then(function (response) {
        clearInterval(poll);
        if (response.redirected) { window.location.assign(response.url); return; }
        return response.text().then(function (html) {
          document.open(); document.write(html); document.close();
        });
      }).catch(function () {
        clearInterval(poll);
        buttons.forEach(function (b) { b.disabled = false; });
        if (status) { status.textContent = "The connection failed; try again."; }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-lookup]").forEach(attachLookup);
    document.querySelectorAll("form[data-dd-progress]").forEach(attachProgress);
  });
})();
