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
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-lookup]").forEach(attachLookup);
  });
})();
