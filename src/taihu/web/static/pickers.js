// Searchable pickers. <input data-picker="enterprise"> suggests enterprises by name or credit
// code as one types (the value becomes the credit code); with data-picker-target="ID" the chosen
// code is added to that field instead (lists of codes). <input data-picker="officer"> suggests
// the users who can take a case. Suggestions come from /pickers/… (what the user may see).
(function () {
  "use strict";
  var CODE = /^[0-9A-HJ-NPQRTUWXY]{18}$/;
  function datalist(input) {
    var list = document.createElement("datalist");
    list.id = (input.id || input.name) + "-options";
    input.setAttribute("list", list.id);
    input.setAttribute("autocomplete", "off");
    input.insertAdjacentElement("afterend", list);
    return list;
  }
  function fill(list, rows) {
    list.replaceChildren.apply(list, rows.map(function (row) {
      var option = document.createElement("option");
      option.value = row[0];
      option.label = row[1];
      return option;
    }));
  }
  function enterprise(input) {
    var list = datalist(input);
    var target = document.getElementById(input.getAttribute("data-picker-target") || "");
    var timer = null;
    input.addEventListener("input", function () {
      var value = input.value.trim();
      if (target && CODE.test(value)) {  // a suggestion was chosen: add it to the list field
        var codes = target.value.split(/[\s,]+/).filter(Boolean);
        if (codes.indexOf(value) < 0) { codes.push(value); }
        target.value = codes.join(" ");
        input.value = "";
        return;
      }
      window.clearTimeout(timer);
      if (!value) { return; }
      timer = window.setTimeout(function () {
        fetch("/pickers/enterprises?q=" + encodeURIComponent(value), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (rows) {
            fill(list, rows.map(function (e) { return [e.credit_code, e.name]; }));
          });
      }, 200);
    });
  }
  function officer(input) {
    var list = datalist(input);
    fetch("/pickers/officers", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) { fill(list, rows.map(function (u) { return [u.username, u.name]; })); });
  }
  function start() {
    document.querySelectorAll("input[data-picker=enterprise]").forEach(enterprise);
    var officers = document.querySelectorAll("input[data-picker=officer]");
    officers.forEach(function (input, n) { if (!input.id) { input.id = "officer-" + n; } officer(input); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
